"""HTTP fetching as a careful crawler does it, for feeds and the article pages they link to.

requests does the HTTP (connection pooling, gzip/deflate, TLS). Around it: only http/https; every URL read
once, by the parser that connects (``connect.target``); the connection made only to addresses the host
policy (``addresses``) allows, resolved once and checked in the connection itself (``connect``); redirects
followed by hand so every hop is checked, with a limit and loop detection; a bounded number of retries with
exponential backoff on 5xx, timeouts and connection errors, none on 4xx; a cap on the (decompressed) body
size; one deadline per attempt over connect, headers and body, and one over the whole fetch (every attempt,
backoff and redirect); conditional GET; a descriptive User-Agent. Politeness per host (a concurrency limit
and a delay between requests) is ``HostThrottle``'s job, and what a site's robots.txt allows ``robots``'.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from typing import Optional
from urllib.parse import urljoin

from transforms.addresses import PRIVATE, HostPolicy, allowed_hosts
from transforms.settings import flag, option

USER_AGENT = "news-ingest/0.1 (Apache Beam news ingestion pipeline; feeds and article pages)"
ROBOTS_AGENT = "news-ingest"  # USER_AGENT's product token: the name robots.txt rules address
REDIRECT_CODES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A fetch that failed for good, with a reason fit for the errors table; ``status``: the HTTP status
    that ended it, when one did."""

    def __init__(self, reason: str, status: Optional[int] = None):
        super().__init__(reason)
        self.status = status


class _Transient(Exception):
    """An attempt that failed in a way worth retrying; ``{attempts}`` in the text is filled in at the end."""


@dataclasses.dataclass(frozen=True)
class HttpSettings:
    timeout: float = option(10.0, "seconds to connect, and between bytes", flag="http_timeout", minimum=0.1, maximum=600)
    attempt_seconds: float = 60.0  # one attempt in all: connect, headers and body (a drip is a failure too)
    total_seconds: float = 120.0  # one fetch in all: every attempt, backoff and redirect
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
    ignore_robots: bool = option(
        False,
        "fetch article pages that the site's robots.txt disallows (only for archives you own or may crawl)",
        parse=flag,
        nargs="?",
        const=True,
    )


@dataclasses.dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict
    body: bytes
    reason: str = ""

    def header(self, name: str) -> Optional[str]:
        """A response header by name, in any case (the dict lost requests' case-insensitivity)."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def check_url(url: str, allowed: tuple[str, ...] = ()) -> None:
    """Refuse anything but http(s), read alike by every parser, to addresses the policy allows; the same
    checks a fetch makes, before any connection (``fetch`` makes them in the connection itself)."""
    from transforms.connect import Refused, resolve_checked, target

    try:
        where = target(url)
        resolve_checked(where.host, where.port, HostPolicy.of(allowed))
    except Refused as e:
        raise FetchError(str(e)) from None
    except socket.gaierror as e:
        raise FetchError(f"DNS lookup failed for {where.host}: {e}") from None


def new_session(settings: HttpSettings):
    """A requests session whose connections check their addresses against ``settings.allowed_hosts``."""
    import requests

    from transforms.connect import PinnedAdapter

    session = requests.Session()
    adapter = PinnedAdapter(HostPolicy.of(settings.allowed_hosts))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
    return session


def fetch(session, url: str, settings: HttpSettings, headers: Optional[dict] = None) -> Response:
    """GET ``url``, following redirects and retrying as the settings say; a 304 is returned, not raised."""
    from transforms.connect import PinnedAdapter, Refused, target

    policy, ends, seen = HostPolicy.of(settings.allowed_hosts), time.monotonic() + settings.total_seconds, {url}
    for _ in range(settings.max_redirects + 1):
        try:
            target(url)
        except Refused as e:
            raise FetchError(str(e)) from None
        adapter = session.get_adapter(url)
        if not (isinstance(adapter, PinnedAdapter) and adapter.policy == policy):
            raise ValueError("fetch needs a session from new_session(settings): its connections check their addresses")
        response = _get_with_retries(session, url, settings, headers or {}, ends)
        if response.status in REDIRECT_CODES and response.header("Location"):
            url = urljoin(url, response.header("Location"))
            if url in seen:
                raise FetchError(f"redirect loop at {url}")
            seen.add(url)
            continue
        if response.status >= 400:
            raise FetchError(f"HTTP {response.status} {response.reason}".strip(), response.status)
        return response
    raise FetchError(f"too many redirects (more than {settings.max_redirects})")


def _get_with_retries(session, url: str, settings: HttpSettings, headers: dict, ends: float) -> Response:
    attempts = settings.retries + 1
    for attempt in range(1, attempts + 1):
        seconds = min(settings.attempt_seconds, ends - time.monotonic())
        if seconds <= 0:
            raise FetchError(f"no time left of the {settings.total_seconds:g} s a fetch may take (redirects included)")
        try:
            return _attempt(session, url, settings, headers, seconds)
        except _Transient as e:
            failure = str(e).replace("{attempts}", str(attempt))
        pause = settings.backoff * 2 ** (attempt - 1)
        if attempt == attempts:
            raise FetchError(failure)
        if time.monotonic() + pause >= ends:
            raise FetchError(f"{failure}; no time left of the {settings.total_seconds:g} s a fetch may take")
        time.sleep(pause)
    raise AssertionError("unreachable")


def _attempt(session, url: str, settings: HttpSettings, headers: dict, seconds: float) -> Response:
    """One GET within ``seconds`` in all; the body is read only when it is the answer. Running out of time
    is worth a retry, as a timeout is (the fetch's total still bounds them all)."""
    import requests

    from transforms.connect import Deadline, Refused

    out_of_time = _Transient(f"the response took longer than {seconds:.3g} s: connect, headers and body ({{attempts}} attempts)")
    with Deadline(seconds) as deadline:
        try:
            response = session.get(url, headers=headers, timeout=settings.timeout, stream=True, allow_redirects=False)
        except Refused as e:
            raise FetchError(str(e)) from None
        except requests.RequestException as e:
            if deadline.expired:
                raise out_of_time from None
            if isinstance(e, requests.Timeout):
                raise _Transient(f"timed out after {settings.timeout:g} s ({{attempts}} attempts)") from None
            raise _Transient(f"connection failed ({{attempts}} attempts): {type(e).__name__}: {e}") from None
        answer = Response(url, response.status_code, dict(response.headers), b"", response.reason or "")
        if response.status_code >= 500:
            response.close()
            raise _Transient(f"HTTP {response.status_code} {answer.reason}".strip() + " after {attempts} attempts")
        if response.status_code in REDIRECT_CODES | {304} or response.status_code >= 400:
            response.close()
            body = b""
        else:
            body = _read_body(response, settings, deadline)
        if deadline.expired:  # headers cut short read as complete ones, a body cut short as a shorter one
            raise out_of_time
        return dataclasses.replace(answer, body=body)


def _read_body(response, settings: HttpSettings, deadline) -> bytes:
    """The (decompressed) body, within the size cap and the attempt's deadline however the server drips it
    (the deadline shuts the socket down, which ends the read: the caller then discards what was read)."""
    import requests
    import urllib3

    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        response.close()
        raise FetchError(f"response too large: {declared} bytes declared, limit {settings.max_bytes}")
    chunks, size = [], 0
    try:
        while chunk := response.raw.read1(64 * 1024, decode_content=True):  # decompressed: a gzip bomb is capped too
            size += len(chunk)
            if size > settings.max_bytes:
                raise FetchError(f"response too large: over {settings.max_bytes} bytes")
            chunks.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
        if not deadline.expired:
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
