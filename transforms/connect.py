"""The connection a fetch makes: to an address that was checked, within the attempt's deadline.

A check made beside the connection misses what the connection does, three ways; each is closed here:
- Two parsers. ``urlsplit`` reads ``http://a\\@b/`` as host b, urllib3 (which connects) as host a. ``target``
  refuses what parsers can read differently (backslashes, user info, control characters and spaces, odd
  hosts) and any URL whose scheme, host or port the two read differently.
- Two lookups. A name checked, then resolved again by the HTTP library, may answer differently the second
  time (DNS rebinding). The connection here resolves the name once, judges every address with the policy
  (``addresses``) and connects only to those; TLS still sends and verifies the hostname (SNI, certificate).
- Per-read timeouts. A server that drips header bytes never lets one expire. A ``Deadline`` shuts the socket
  down when the attempt's time is up, in whatever phase it is (TLS handshake, headers, body).
Proxies from the environment are not used: a proxy resolves names itself, out of the check's reach.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
import socket
import sys
import threading
import time
import unicodedata
from typing import NamedTuple, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NameResolutionError, NewConnectionError
from urllib3.util import parse_url
from urllib3.util.connection import allowed_gai_family

from transforms.addresses import HostPolicy

DEFAULT_PORTS = {"http": 80, "https": 443}
_PLAIN_HOST = re.compile(r"[a-z0-9._-]+")
_INVISIBLE = ("Cc", "Cf", "Zs", "Zl", "Zp")  # control, format (zero-width...), and space characters


class Refused(Exception):
    """A URL or an address the policy does not let a fetch reach (never worth a retry)."""


class Target(NamedTuple):
    scheme: str
    host: str  # as the connection uses it: lower case, IDNA, an IPv6 literal without brackets
    port: int


def target(url: str) -> Target:
    """Where ``url`` connects, read once; refused unless urlsplit and urllib3 (as requests prepares the URL)
    read the same scheme, host and port, and nothing in it invites them to differ."""
    for char in url:
        if char == "\\":
            raise Refused(f"refused URL with a backslash (parsers disagree on where it points): {url!r}")
        if char.isspace() or unicodedata.category(char) in _INVISIBLE:
            raise Refused(f"refused URL with a control character or space ({char!r}): {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise Refused(f"refused URL scheme {parts.scheme or '(none)'!r}: only http and https are fetched")
    if "@" in parts.netloc:
        raise Refused(f"refused URL with a user name or password: {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise Refused(f"refused URL with an invalid port: {url!r}") from None
    if not parts.hostname:
        raise Refused(f"URL has no host: {url}")
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        connects = parse_url(prepared.url)
        expected = _idna(parts.hostname)
    except (requests.RequestException, LocationParseError, ValueError) as e:
        raise Refused(f"refused URL with an invalid host: {url!r} ({e})") from None
    host = (connects.host or "").strip("[]")
    if (connects.scheme, host, connects.port or DEFAULT_PORTS.get(connects.scheme or "")) != (parts.scheme, expected, port):
        raise Refused(f"refused URL whose host or port parsers read differently: {url!r}")
    if not (_PLAIN_HOST.fullmatch(host) or _is_ipv6(host)):
        raise Refused(f"refused URL with an unusual host {host!r}: {url!r}")
    return Target(parts.scheme, host, port)


def _idna(hostname: str) -> str:
    if hostname.isascii():
        return hostname
    import idna  # requests' own dependency, as it encodes hosts

    return idna.encode(hostname, uts46=True).decode("ascii")


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def resolve_checked(host: str, port: int, policy: HostPolicy) -> list:
    """``host``'s addresses (getaddrinfo tuples), every one judged by the policy: those a connection may use.
    A name with one refused address is refused whole. ``socket.gaierror`` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        reason = policy.refusal(host, ipaddress.ip_address(sockaddr[0].split("%")[0]))
        if reason:
            raise Refused(reason)
    return infos


# ---------------------------------------------------------------------------------- the deadline

_CURRENT: contextvars.ContextVar[Optional[Deadline]] = contextvars.ContextVar("fetch_deadline", default=None)


class Deadline:
    """One attempt's time, for the requests made on this thread meanwhile: the connections they use are
    watched, and when the time is up their sockets are shut down, which ends a read in progress however
    slowly the server sends (a per-read timeout restarts with every byte)."""

    def __init__(self, seconds: float):
        self.seconds, self.ends, self.expired = seconds, time.monotonic() + seconds, False
        self._lock, self._watched, self._over = threading.Lock(), [], False
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._token = _CURRENT.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:  # after this, the timer can shut nothing down (the connection may serve another request)
            self._over = True
        _CURRENT.reset(self._token)

    def remaining(self) -> float:
        return max(self.ends - time.monotonic(), 0.0)

    def watch(self, holder) -> None:
        """``holder``: a connection (its socket when the time is up) or a socket."""
        with self._lock:
            if not self._over:
                self._watched.append(holder)
                if self.expired:
                    _shut(holder)

    def _expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.expired = True
            for connection in self._watched:
                _shut(connection)


def _shut(holder) -> None:
    sock = holder if isinstance(holder, socket.socket) else getattr(holder, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: also under TLS, from another thread


def _watch(holder) -> None:
    deadline = _CURRENT.get()
    if deadline is not None and holder is not None:
        deadline.watch(holder)


# ------------------------------------------------------------------------- the pinned connections


class _Pinned:
    """A urllib3 connection that resolves its host once, judges every address, and connects to those only;
    ``self.host`` stays the name, so the Host header, SNI and certificate checks use it."""

    policy: HostPolicy

    def connect(self) -> None:
        _watch(self)  # its socket, plain during the TLS handshake
        super().connect()

    def request(self, *args, **kwargs) -> None:
        _watch(self)  # a connection from the pool, or one that connects now
        super().request(*args, **kwargs)

    def getresponse(self, *args, **kwargs):
        _watch(self.sock)  # the socket itself: the response reads it even after the connection lets go of it
        return super().getresponse(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        try:
            infos = resolve_checked(self._dns_host.strip("[]"), self.port, self.policy)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e
        deadline, error = _CURRENT.get(), None
        for family, kind, proto, _, address in infos:
            timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
            if deadline is not None:
                if deadline.remaining() <= 0:
                    break
                timeout = min(timeout or deadline.remaining(), deadline.remaining())
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(address)
            except OSError as e:
                sock.close()
                error = e
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if error is None or isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})")
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


def _pool_classes(policy: HostPolicy) -> dict[str, type]:
    http = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), {"policy": policy})
    https = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), {"policy": policy})
    return {
        "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class PinnedAdapter(HTTPAdapter):
    """requests' transport with pinned connections for one policy, and no proxy."""

    def __init__(self, policy: HostPolicy):
        self.policy = policy  # before HTTPAdapter.__init__, which builds the pool manager
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})
