"""One spelling per URL, so that the same page is recognised whichever link led to it."""

from __future__ import annotations

import contextlib
import re
from typing import Optional
from urllib.parse import urlsplit, urlunsplit


def is_url(source: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source))


def canonical_url(url: Optional[str]) -> Optional[str]:
    """Lower-case host, no default port, no fragment, no tracking parameters (``utm_*``, ``fbclid``,
    ``gclid``, ...: courlan's list), sorted query. Not a URL (a bare path, say): returned as it is.
    In an http(s) URL a backslash is a slash, as browsers read it (WHATWG URL standard): ``http://a\\@b/``
    is host a, the host a click on the link reaches and the host a fetch of it checks."""
    if not url or not url.strip():
        return None
    url = url.strip()
    if re.match(r"(?i)https?:", url):
        url = url.replace("\\", "/")
    if not is_url(url):
        return url
    from courlan import normalize_url

    with contextlib.suppress(ValueError):
        url = normalize_url(url)
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
