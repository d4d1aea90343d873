"""What a site's robots.txt lets this crawler fetch (RFC 9309), read once per host and run.

``--fetch-articles`` downloads pages a feed links to; a careful crawler asks each origin's robots.txt
first. The file is fetched like any page (``fetch``: the host policy, redirects, retries, caps) and parsed
by protego, under the product token ``fetch.ROBOTS_AGENT``. As the RFC says: a robots.txt that is not
there (4xx) allows everything; one that cannot be read (5xx after the retries, a timeout, a refused
connection) disallows everything, for this run: its pages become error rows that say why (a reason to
act on, unlike a rule). A disallowed page is never requested; the caller counts it as a skip.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from transforms.fetch import ROBOTS_AGENT, FetchError, HttpSettings, fetch


class Robots:
    """The robots.txt rules of every origin (scheme, host, port) seen, fetched on first need; thread-safe,
    so a host's pages fetched in parallel share one read of its file."""

    def __init__(self, session, settings: HttpSettings):
        self.session, self.settings = session, settings
        self._rules: dict[str, object] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether the origin's rules allow ``url``; FetchError when its robots.txt could not be read."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:  # one fetch per origin, the others wait for it
            if origin not in self._rules:
                self._rules[origin] = self._read(origin)
        rules = self._rules[origin]
        if isinstance(rules, FetchError):
            raise rules
        return rules if isinstance(rules, bool) else rules.can_fetch(url, ROBOTS_AGENT)

    def _read(self, origin: str):
        """Protego rules; True when there is no file (all allowed); the FetchError when it is unreadable."""
        from protego import Protego

        try:
            response = fetch(self.session, origin + "/robots.txt", self.settings, {"Accept": "text/plain"})
        except FetchError as e:
            if e.status is not None and 400 <= e.status < 500:
                return True
            return FetchError(f"{origin}/robots.txt could not be read, so nothing there is fetched: {e}", e.status)
        return Protego.parse(response.body.decode("utf-8", errors="replace"))
