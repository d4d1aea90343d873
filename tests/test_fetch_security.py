"""A fetch cannot be steered to an address the policy refuses, and cannot be held longer than its deadline.

Every server here listens on 127.0.0.1. Names are simulated: a stub resolver answers the names under
``.test`` and ``news.example.com`` (numeric hosts go to the system resolver with ``AI_NUMERICHOST``, so no
lookup leaves the machine), and a guard refuses, and records, any connection to anything but 127.0.0.1:
the test needs no other address to prove that one was chosen.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transforms.feeds.formats import feed_records
from transforms.fetch import FetchError, HttpSettings, check_url, fetch, new_session
from transforms.urls import canonical_url

PUBLIC = "93.184.215.14"  # what the stub answers for a "public" name; the guard never lets it be connected to
REAL_GETADDRINFO, REAL_CONNECT = socket.getaddrinfo, socket.socket.connect


class Network:
    """The stub resolver and the connection guard. ``names[name]``: the answers, one per lookup, the
    last one repeated; an answer is one address or several, comma-separated."""

    def __init__(self):
        self.names: dict[str, list[str]] = {"news.example.com": [PUBLIC]}
        self.lookups: list[tuple[str, str]] = []
        self.refused: list[str] = []  # addresses a connection was attempted to, other than 127.0.0.1

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
        if name not in self.names:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        answers = self.names[name]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        self.lookups.append((name, answer))
        port = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ipaddress.ip_address(address).version == 6
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in answer.split(",")
        ]

    def connect(self, sock, address):
        if isinstance(address, tuple) and address[0] != "127.0.0.1":
            self.refused.append(address[0])
            raise ConnectionRefusedError(f"test guard: no connection to {address[0]}")
        return REAL_CONNECT(sock, address)


@pytest.fixture
def network(monkeypatch):
    stub = Network()
    monkeypatch.setattr(socket, "getaddrinfo", stub.getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: stub.connect(sock, address))
    return stub


class Local:
    """An HTTP server on 127.0.0.1 that answers every path with ``answer(handler)`` and records the paths."""

    def __init__(self, answer=None):
        self.paths: list[str] = []
        self.answer = answer or _secret
        local = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                local.paths.append(self.path)
                local.answer(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that gave up is expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _secret(handler: BaseHTTPRequestHandler) -> None:
    body = b"internal credentials: hunter2"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(location: str):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def settings(*allowed: str, **more) -> HttpSettings:
    return HttpSettings(**{"timeout": 2.0, "retries": 0, "backoff": 0.01, "allowed_hosts": allowed, **more})


# ------------------------------------------------------------------------ one reading of the URL


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://169.254.169.254\\@news.example.com/latest/meta-data/", "backslash"),
        ("http://127.0.0.1:8080\\@news.example.com/", "backslash"),
        ("http://news.example.com\\@169.254.169.254/", "backslash"),
        ("http://news.example.com@169.254.169.254/", "user name or password"),
        ("http://user:secret@news.example.com/", "user name or password"),
        ("http://169.254.169.254\t@news.example.com/", "control character or space"),
        ("http://news.exa\nmple.com/", "control character or space"),
        ("http://news.example.com /", "control character or space"),
        ("http://news.example.com\u3000/", "control character or space"),
        ("http://news.example.com\u200b/", "control character or space"),
        ("http://news.example.com:99999/", "port"),
        ("http://news%2eexample.com/", "host"),
        ("http://[fe80::1%25eth0]/", "host"),
    ],
)
def test_a_url_the_parsers_could_read_differently_is_refused_before_any_lookup(network, url, reason):
    """urlsplit reads ``http://A\\@B/`` as host B, urllib3 (which connects) as host A: such a URL is
    refused whatever its hosts are, and whatever the policy."""
    for allowed in ((), ("private",)):
        with pytest.raises(FetchError, match=reason):
            check_url(url, allowed)
    assert network.lookups == []


def test_a_redirect_cannot_smuggle_a_refused_host_past_the_check(network):
    """The front server (allowed by name) redirects to ``http://127.0.0.1:<secret>\\@front.test/``: checked
    as front.test by urlsplit, it would be fetched from the secret server by urllib3."""
    network.names["front.test"] = ["127.0.0.1"]
    with Local() as secret, Local() as front:
        front.answer = _redirect(f"http://127.0.0.1:{secret.port}\\@front.test:{front.port}/")
        with pytest.raises(FetchError, match="backslash"):
            fetch(new_session(settings("front.test")), f"http://front.test:{front.port}/go", settings("front.test"))
        assert front.paths == ["/go"]
        assert secret.paths == []


def test_a_feed_link_cannot_smuggle_a_refused_host_past_the_check(network):
    """The same trick in an entry's link (``--fetch-articles``): the link's canonical form is read as a
    browser reads it (a backslash is a slash), so its host is the secret server's, refused by the policy."""
    network.names["front.test"] = ["127.0.0.1"]
    with Local() as secret:
        link = f"http://127.0.0.1:{secret.port}\\@front.test/story"
        feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Front</title><item><title>Story</title>
        <link>{link}</link><description>A teaser that links to the story page.</description></item></channel></rss>"""
        [entry], _ = feed_records("http://front.test/rss", feed.encode())
        assert "\\" not in entry.url and entry.url.startswith(f"http://127.0.0.1:{secret.port}/")
        with pytest.raises(FetchError, match="non-public"):
            fetch(new_session(settings("front.test")), entry.url, settings("front.test"))
        assert secret.paths == []


def test_canonical_url_reads_a_backslash_as_a_browser_does():
    assert canonical_url("http://169.254.169.254\\@news.example.com/x") == "http://169.254.169.254/%40news.example.com/x"
    assert canonical_url("https:\\\\News.Example.com\\a\\b") == "https://news.example.com/a/b"


# ----------------------------------------------------------------- the address checked is the one used


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_fetched(network):
    """The name answers a public address first, then 127.0.0.1 (DNS rebinding): the connection goes to the
    address that was checked (the guard refuses it here, as an unreachable host would), never to 127.0.0.1."""
    with Local() as internal:
        network.names["rebind.test"] = [PUBLIC, "127.0.0.1"]
        url = f"http://rebind.test:{internal.port}/admin"
        with pytest.raises(FetchError):
            fetch(new_session(settings()), url, settings(retries=1))
        assert internal.paths == []
        assert PUBLIC in network.refused


def test_every_address_a_name_resolves_to_is_checked(network):
    """A name with a public and a loopback address is refused, not fetched from whichever comes first."""
    with Local() as internal:
        network.names["both.test"] = [f"{PUBLIC},127.0.0.1"]
        with pytest.raises(FetchError, match="non-public address 127.0.0.1"):
            fetch(new_session(settings()), f"http://both.test:{internal.port}/", settings())
        assert internal.paths == []
    assert network.refused == []


def test_tls_is_verified_for_the_hostname_while_connecting_to_the_pinned_address(network, tmp_path, monkeypatch):
    """The connection goes to the checked IP, but SNI and certificate verification still use the name."""
    pytest.importorskip("cryptography")
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests lets these override session.verify
        monkeypatch.delenv(variable, raising=False)
    from tests.support.tls import https_server

    network.names["pinned.test"] = ["127.0.0.1"]
    network.names["other.test"] = ["127.0.0.1"]
    with https_server(tmp_path, "pinned.test") as (port, ca, names_seen):
        http = settings("pinned.test", "other.test")
        session = new_session(http)
        session.verify = str(ca)
        assert fetch(session, f"https://pinned.test:{port}/", http).body == b"over tls"
        assert names_seen == ["pinned.test"]
        with pytest.raises(FetchError, match="certificate|hostname"):
            fetch(session, f"https://other.test:{port}/", http)


def test_a_proxy_from_the_environment_is_not_used(network, monkeypatch):
    """A proxy resolves names itself, out of the check's reach: fetches connect directly."""
    with Local() as proxy, Local() as origin:
        for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        for variable in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(variable, raising=False)
        http = settings("127.0.0.1")
        assert fetch(new_session(http), f"http://127.0.0.1:{origin.port}/page", http).body.startswith(b"internal")
        assert proxy.paths == [] and origin.paths == ["/page"]


# ----------------------------------------------------------------------------- the address policy


@pytest.mark.parametrize(
    "host, what",
    [
        ("[::a9fe:a9fe]", "link-local"),  # IPv4-compatible 169.254.169.254
        ("[::169.254.169.254]", "link-local"),
        ("[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64, well-known prefix
        ("[64:ff9b:1::a9fe:a9fe]", "link-local"),  # NAT64, local-use prefix
        ("[2002:a9fe:a9fe::1]", "link-local"),  # 6to4 of 169.254.169.254
        ("[2001:0:a9fe:a9fe::1]", "link-local"),  # Teredo, server 169.254.169.254
        ("[2001:0:4136:e378:8000:63bf:5601:5601]", "link-local"),  # Teredo, client 169.254.169.254 (obfuscated)
        ("[::ffff:0:a9fe:a9fe]", "link-local"),  # IPv4-translated (SIIT)
        ("168.63.129.16", "link-local"),  # Azure WireServer
        ("100.100.100.200", "link-local"),  # Alibaba Cloud
        ("192.0.0.192", "link-local"),  # Oracle Cloud Classic
        ("[fd00:ec2::254]", "link-local"),  # AWS, IPv6
        ("[fd20:ce::254]", "link-local"),  # Google Cloud, IPv6
        ("[fe80::1]", "link-local"),
        ("[fec0::1]", "non-public"),  # site-local
        ("[::127.0.0.1]", "non-public"),
        ("[64:ff9b::7f00:1]", "non-public"),  # NAT64 of a private address: the translator's network, not ours
        ("[64:ff9b::c0a8:1]", "non-public"),
        ("[64:ff9b:1::808:808]", "non-public"),
        ("[2002:7f00:1::1]", "non-public"),
        ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "non-public"),  # Teredo
        ("0.0.0.0", "non-public"),
        ("[::]", "non-public"),
        ("224.0.0.1", "non-public"),
        ("[ff02::1]", "non-public"),
        ("240.0.0.1", "non-public"),
        ("255.255.255.255", "non-public"),
        ("100.64.0.1", "non-public"),
        ("192.0.2.1", "non-public"),
    ],
)
def test_every_form_of_a_refused_address_is_refused(host, what):
    for allowed in ((), ("private",), ("10.0.0.0/8", "intranet.example")):
        with pytest.raises(FetchError, match=what):
            check_url(f"http://{host}/latest", allowed)


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700::1111]", "[64:ff9b::808:808]", "[2002:808:808::1]", "[::ffff:8.8.8.8]"])
def test_public_addresses_and_their_translations_are_allowed(host):
    check_url(f"http://{host}/x")


def test_private_forms_follow_their_ipv4_address():
    for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "10.1.2.3", "[::ffff:10.1.2.3]", "[fd12:3456::1]", "[::1]"):
        with pytest.raises(FetchError, match="non-public"):
            check_url(f"http://{host}/x")
        check_url(f"http://{host}/x", ("private",))
    check_url("http://[::ffff:10.1.2.3]/x", ("10.0.0.0/8",))
    check_url("http://[64:ff9b::a9fe:a9fe]/x", ("169.254.169.254",))  # named: allowed in any exact spelling


# ------------------------------------------------------------------------------------ the deadline


def _drip_headers(handler: BaseHTTPRequestHandler) -> None:
    """A status line, then one header byte every 0.1 s for 8 s: no read ever waits a whole timeout."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    ends = time.monotonic() + 8
    try:
        while time.monotonic() < ends:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.1)
        handler.wfile.write(b"\r\nContent-Length: 2\r\n\r\nok")
    except OSError:
        pass  # the client gave up, as it should


def test_a_server_that_drips_its_headers_is_cut_at_the_deadline():
    with Local(_drip_headers) as slow:
        http = settings("private", timeout=1.0, retries=10, attempt_seconds=1.0, total_seconds=2.5)
        started = time.monotonic()
        with pytest.raises(FetchError, match="took longer than"):
            fetch(new_session(http), f"http://127.0.0.1:{slow.port}/feed", http)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5
    assert 2 <= len(slow.paths) <= 3  # retried, but only within the total
