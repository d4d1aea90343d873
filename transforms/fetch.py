"""HTTP fetching as a careful crawler does it, for feeds and the article pages they link to.

requests does the HTTP (connection pooling, gzip/deflate, TLS). Around it: only http/https; link targets
on private, loopback or link-local addresses refused unless allowed; redirects followed by hand so every
hop is checked, with a limit and loop detection; a bounded number of retries with exponential backoff on
5xx, timeouts and connection errors, none on 4xx; a cap on the (decompressed) body size and on the total
time a body may take to arrive; conditional GET; a descriptive User-Agent. Politeness per host (a
concurrency limit and a delay between requests) is ``HostThrottle``'s job.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import threading
import time
from typing import Optional
from urllib.parse import urljoin, urlsplit

from transforms.addresses import PRIVATE, HostPolicy, allowed_hosts
from transforms.settings import option

USER_AGENT = "news-ingest/0.1 (Apache Beam news ingestion pipeline; feeds and article pages)"
REDIRECT_CODES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A fetch that failed for good, with a reason fit for the errors table."""


@dataclasses.dataclass(frozen=True)
class HttpSettings:
    timeout: float = option(10.0, "seconds to connect, and between bytes", flag="http_timeout", minimum=0.1, maximum=600)
    body_seconds: float = 60.0  # seconds a whole body may take (a slow drip is a failure too)
    retries: int = option(
        3,
        "extra attempts after a 5xx, a timeout or a connection error (none after a 4xx)",
        flag="http_retries",
        minimum=0,
        maximum=10,
    )
    backoff: float = option(0.5, "seconds before the first retry; doubles each time", flag="http_backoff", minimum=0, maximum=60)
    max_redirects: int = option(5, "redirects followed per request", minimum=0, maximum=30)
    max_bytes: int = option(
        10 * 1024 * 1024,
        "largest (decompressed) response body, in bytes",
        flag="max_response_bytes",
        minimum=1024,
        maximum=1 << 30,
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        "private hosts, addresses or networks that may be fetched, comma-separated, or 'private' for every private "
        "network; link-local/metadata addresses only when named (default: public addresses only)",
        flag="allow_private_hosts",
        parse=allowed_hosts,
        nargs="?",
        const=(PRIVATE,),
    )
    host_concurrency: int = option(2, "article pages in flight per host", minimum=1, maximum=64)
    host_delay: float = option(0.5, "seconds between request starts to one host", minimum=0, maximum=3600)


@dataclasses.dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """A response header by name, in any case (the dict lost requests' case-insensitivity)."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def check_url(url: str, allowed: tuple[str, ...] = ()) -> None:
    """Refuse anything but http(s) to a public address or one the user allowed (``addresses``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refused URL scheme {parts.scheme or '(none)'!r}: only http and https are fetched")
    if not parts.hostname:
        raise FetchError(f"URL has no host: {url}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as e:
        raise FetchError(f"DNS lookup failed for {parts.hostname}: {e}") from None
    policy = HostPolicy.of(allowed)
    for info in infos:
        reason = policy.refusal(parts.hostname, ipaddress.ip_address(info[4][0].split("%")[0]))
        if reason:
            raise FetchError(reason)


def new_session():
    import requests

    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
    return session


def fetch(session, url: str, settings: HttpSettings, headers: Optional[dict] = None) -> Response:
    """GET ``url``, following redirects and retrying as the settings say; a 304 is returned, not raised."""
    seen = {url}
    for _ in range(settings.max_redirects + 1):
        check_url(url, settings.allowed_hosts)
        response = _get_with_retries(session, url, settings, headers or {})
        if response.status_code in REDIRECT_CODES and response.headers.get("Location"):
            response.close()
            url = urljoin(url, response.headers["Location"])
            if url in seen:
                raise FetchError(f"redirect loop at {url}")
            seen.add(url)
            continue
        if response.status_code == 304:
            return Response(url, 304, dict(response.headers), b"")
        if response.status_code >= 400:
            response.close()
            raise FetchError(f"HTTP {response.status_code} {response.reason or ''}".strip())
        return Response(url, response.status_code, dict(response.headers), _read_body(response, settings))
    raise FetchError(f"too many redirects (more than {settings.max_redirects})")


def _get_with_retries(session, url: str, settings: HttpSettings, headers: dict):
    import requests

    attempts = settings.retries + 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = session.get(url, headers=headers, timeout=settings.timeout, stream=True, allow_redirects=False)
        except requests.Timeout:
            if last:
                raise FetchError(f"timed out after {settings.timeout:g} s ({attempts} attempts)") from None
        except requests.RequestException as e:
            if last:
                raise FetchError(f"connection failed ({attempts} attempts): {type(e).__name__}: {e}") from None
        else:
            if response.status_code < 500:
                return response
            response.close()
            if last:
                raise FetchError(f"HTTP {response.status_code} {response.reason or ''} after {attempts} attempts".strip())
        time.sleep(settings.backoff * 2**attempt)
    raise AssertionError("unreachable")


def _read_body(response, settings: HttpSettings) -> bytes:
    """The (decompressed) body, within the size cap and the time cap however the server drips it: ``read1``
    returns whatever has arrived, so the clock is checked at least every ``timeout`` seconds."""
    import requests
    import urllib3

    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        response.close()
        raise FetchError(f"response too large: {declared} bytes declared, limit {settings.max_bytes}")
    chunks, size, started = [], 0, time.monotonic()
    try:
        while chunk := response.raw.read1(64 * 1024, decode_content=True):  # decompressed: a gzip bomb is capped too
            size += len(chunk)
            if size > settings.max_bytes:
                raise FetchError(f"response too large: over {settings.max_bytes} bytes")
            if time.monotonic() - started > settings.body_seconds:
                raise FetchError(f"body took longer than {settings.body_seconds:g} s")
            chunks.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
        raise FetchError(f"reading the body failed: {type(e).__name__}: {e}") from None
    finally:
        response.close()
    return b"".join(chunks)


class HostThrottle:
    """At most ``concurrency`` requests in flight to one host, and ``delay`` seconds between their starts."""

    def __init__(self, concurrency: int, delay: float):
        self._slots = threading.BoundedSemaphore(max(concurrency, 1))
        self._delay = delay
        self._lock = threading.Lock()
        self._next_start = 0.0

    def __enter__(self):
        self._slots.acquire()
        with self._lock:
            now = time.monotonic()
            wait = max(self._next_start - now, 0.0)
            self._next_start = max(now, self._next_start) + self._delay
        if wait:
            time.sleep(wait)
        return self

    def __exit__(self, *exc):
        self._slots.release()
