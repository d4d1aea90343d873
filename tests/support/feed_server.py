"""A real HTTP server on 127.0.0.1 for the feed tests: feeds, pages and every way a fetch can go wrong."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>x</title><description>&lol9;</description></item></channel></rss>"""

ILL_FORMED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Sloppy & Co</title>
<item><title>Harbour reopens</title><guid isPermaLink="false">sloppy-a</guid>
<description>The harbour reopened on Monday after the storm, the port authority said in a statement.</description></item>
<item><title>Second story</title><guid isPermaLink="false">sloppy-b</guid><description>Unclosed <b>bold text about the ferry timetable changes for the winter season
</description></item></channel></rss>"""


def paragraph(topic: str, i: int) -> str:
    return (
        f"<p>Officials in the {topic} district said on Tuesday that the new plan, paragraph {i} of the report, "
        f"would change how the {topic} service is run, and that residents would be consulted before winter.</p>"
    )


def article_page(n: int, canonical: str | None = None) -> bytes:
    topic = ["river", "harbour", "railway", "library", "market", "airport"][n % 6]
    head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(paragraph(topic, i) for i in range(5))
    return (
        f"<html><head><title>Story {n}</title>{head}</head><body><nav>Home | News | Sport</nav>"
        f"<article><h1>The {topic} plan, story {n}</h1>{body}</article><footer>Contact us</footer></body></html>"
    ).encode()


def links_feed(base: str, count: int) -> bytes:
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/article/{n}.html?utm_source=rss&amp;utm_medium=feed</link>"
        f"<guid>story-{n}</guid><pubDate>Tue, 16 Aug 2021 0{n % 10}:00:00 GMT</pubDate><category>Local</category>"
        f"<description>Short teaser {n} for the story.</description></item>"
        for n in range(count)
    )
    bad = (
        "<item><title>Not on the web</title><link>ftp://files.example/story.txt</link><guid>ftp-1</guid>"
        "<description>A teaser of the kind that comes with a file link.</description></item>"
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local Links</title>{items}{bad}</channel></rss>').encode()


STORIES = {
    "dam": (
        "Dam inspection finds cracks",
        "engineers inspected the northern dam and found cracks in two of its spillways after the spring floods",
    ),
    "ferry": (
        "Ferry timetable changes",
        "the island ferry company will run fewer crossings in winter because two of its boats need new engines",
    ),
    "school": (
        "New school opens",
        "the new secondary school in the eastern district opened its doors to six hundred pupils and forty teachers",
    ),
}


def story_html(key: str, dateline: str = "") -> str:
    _, fact = STORIES[key]
    sentences = [
        f"{dateline}Mayor Anna Berg of Riverton confirmed on Monday that {fact}.",
        f"The regional council said the report on how {fact} would be published in full next month.",
        f"Residents told reporters they had long worried that {fact}, and asked for regular public updates.",
        "A spokesperson for the ministry said money had been set aside, although the final cost of the work was not yet known.",
        f"Opposition members called for an independent review and said the public deserved answers about {fact}.",
    ]
    return "".join(f"<p>{s}</p>" for s in sentences)


def rss(title: str, items: list[tuple[str, str, str, float, str]]) -> bytes:
    """items: (guid, link, title, published epoch seconds, description html)."""
    from email.utils import formatdate

    body = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><link>{link}</link><title>{t}</title>'
        f"<pubDate>{formatdate(published, usegmt=True)}</pubDate><description><![CDATA[{html}]]></description></item>"
        for guid, link, t, published, html in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


class GrowingFeeds:
    """Two feeds that change while a streaming job polls them (all times from the first request, so that a
    job slow to start still sees the feeds before they grow):
    /local.xml lists the dam and ferry stories, and from ``later`` s on also the school story;
    /wire.xml is empty until ``later`` s, then carries the dam story again, syndicated under another URL.
    Each version has its own ETag, so a poll that finds nothing new gets a 304."""

    def __init__(self, base: str, later: float):
        self.base, self.later, self.start = base, later, None

    def grow_now(self) -> None:
        """The feeds grow from this moment (a test that must know when: a loaded machine stretches any delay)."""
        self.start = self.start or time.time()
        self.later = time.time() - self.start

    def version(self, path: str) -> tuple[str, bytes] | None:
        if path not in ("/local.xml", "/wire.xml"):
            return None
        self.start = self.start or time.time()
        grown = time.time() - self.start >= self.later
        published = self.start - 60
        if path == "/local.xml":
            items = [
                (f"local-{k}", f"{self.base}/local/{k}.html", STORIES[k][0], published, story_html(k)) for k in ("dam", "ferry")
            ]
            if grown:
                items.append(
                    (
                        "local-school",
                        f"{self.base}/local/school.html",
                        STORIES["school"][0],
                        self.start + self.later,
                        story_html("school"),
                    )
                )
            return f'"local-{int(grown)}"', rss("Local News", items)
        items = (
            [
                (
                    "wire-dam",
                    f"{self.base}/wire/dam.html",
                    STORIES["dam"][0],
                    self.start + self.later,
                    story_html("dam", dateline="RIVERTON (Wire) - "),
                )
            ]
            if grown
            else []
        )
        return f'"wire-{int(grown)}"', rss("Wire Service", items)


class FeedServer:
    """Routes: /dev/<name> (the shared dev feeds), /links.xml (entries linking to /article/N.html),
    /etag.xml (ETag + Last-Modified, 304 on match), /404, /always500, /flaky (500 twice then 200),
    /slow (answers after 3 s), /drip (one byte every 0.25 s), /loop-a <-> /loop-b, /gzip.xml, /bozo.xml, /bomb.xml, /huge, /redirect-to-feed, /robots.txt (``robots``: status and body, else 404),
    and the GrowingFeeds /local.xml and /wire.xml."""

    def __init__(self, dev_feeds: Path | None = None, articles: int = 6, grow_after: float = 3.0):
        self.dev_feeds, self.articles = dev_feeds, articles
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that gave up (the timeout tests) is expected, not an error

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.growing = GrowingFeeds(self.base, grow_after)
        self.statuses: list[tuple[str, int]] = []
        self.robots: tuple[int, bytes] | None = None  # /robots.txt's status and body; None: 404

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def answered(self, *paths: str, status: int | None = None, since: int = 0) -> bool:
        """Whether each of the GrowingFeeds ``paths`` was answered (with ``status``) since the ``since``-th
        request to them: an event a streaming test waits for (``tests.support.streams``) instead of a time."""
        with self.lock:
            seen = {path for path, code in self.statuses[since:] if status is None or code == status}
        return set(paths) <= seen

    def grow_now(self) -> int:
        """The GrowingFeeds grow from this moment; returns the index of their next request (``answered``'s
        ``since``: what was polled after the growth)."""
        with self.lock:
            self.growing.grow_now()
            return len(self.statuses)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            hits = self.hits[path]

        def send(status: int, body: bytes = b"", content_type: str = "application/rss+xml", **headers):
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                request.send_header(name.replace("_", "-"), value)
            request.end_headers()
            request.wfile.write(body)

        with self.lock:  # the version served and its record at once: ``grow_now``'s index divides them
            growing = self.growing.version(path)
            if growing:
                etag, body = growing
                status = 304 if request.headers.get("If-None-Match") == etag else 200
                self.statuses.append((path, status))
        if growing:
            return send(status, b"" if status == 304 else body, ETag=etag)
        if path.startswith("/dev/") and self.dev_feeds:
            file = self.dev_feeds / path[5:]
            return send(200, file.read_bytes()) if file.is_file() else send(404)
        if path == "/robots.txt":
            return send(*self.robots, "text/plain") if self.robots else send(404, b"no robots.txt", "text/plain")
        if path == "/links.xml":
            return send(200, links_feed(self.base, self.articles))
        if path.startswith("/article/"):
            n = int(path.rsplit("/", 1)[1].split(".")[0])
            if n >= self.articles:
                return send(404, b"gone", "text/html")
            return send(200, article_page(n, canonical=f"{self.base}/story/{n}?utm_campaign=x#top"), "text/html")
        if path == "/etag.xml":
            if request.headers.get("If-None-Match") == '"v1"':
                return send(304)
            return send(200, links_feed(self.base, 2), ETag='"v1"', Last_Modified="Tue, 16 Aug 2021 10:00:00 GMT")
        if path == "/404":
            return send(404, b"not here", "text/html")
        if path == "/always500":
            return send(500, b"broken", "text/html")
        if path == "/flaky":
            return send(500, b"try again", "text/html") if hits <= 2 else send(200, links_feed(self.base, 1))
        if path == "/slow":
            time.sleep(3)
            return send(200, links_feed(self.base, 1))
        if path in ("/loop-a", "/loop-b"):
            return send(302, Location="/loop-b" if path == "/loop-a" else "/loop-a")
        if path == "/redirect-to-feed":
            return send(301, Location="/links.xml")
        if path == "/gzip.xml":
            return send(200, gzip.compress(links_feed(self.base, 2)), Content_Encoding="gzip")
        if path == "/bozo.xml":
            return send(200, ILL_FORMED)
        if path == "/bomb.xml":
            return send(200, BOMB)
        if path == "/drip":  # declares 100 bytes, sends one every 0.25 s: a body that never quite stalls
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Length", "100")
            request.end_headers()
            for _ in range(100):
                request.wfile.write(b" ")
                request.wfile.flush()
                time.sleep(0.25)
            return None
        if path == "/huge":
            return send(200, b"<rss>" + b" " * 3_000_000 + b"</rss>")
        return send(404, b"no route", "text/html")
