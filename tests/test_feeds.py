"""Feeds: parsing, canonical URLs, state, HTTP fetching against a real local server, and the CLI."""

import json
import time

import feedparser
import pytest

from tests.support.cli import SHARED, run_command, summary_numbers, table
from tests.support.feed_server import BOMB, ILL_FORMED, FeedServer
from transforms.feeds import entry_keys, feed_records, parse_feed, read_feeds_file
from transforms.fetch import FetchError, HttpSettings, check_url, fetch, new_session
from transforms.schema import ErrorRecord, RawDocument
from transforms.urls import canonical_url

DEV_FEEDS = SHARED / "eval" / "feeds-dev"
needs_dev_feeds = pytest.mark.skipif(not DEV_FEEDS.is_dir(), reason="shared dev feeds not present")

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title>
<entry><id>tag:e,2021:1</id><title>First</title><link href="https://E.example:443/a?utm_source=x&amp;id=1#frag"/>
<updated>2021-08-16T10:00:00Z</updated><author><name>Ann Writer</name></author><category term="World"/>
<content type="html">&lt;p&gt;Full &lt;b&gt;content&lt;/b&gt; here.&lt;/p&gt;</content><summary>Short</summary></entry></feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://r.example/"><title>RDF News</title></channel>
<item rdf:about="http://r.example/1"><title>One</title><link>http://r.example/1</link><description>Body one.</description></item>
</rdf:RDF>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON News",
        "items": [
            {
                "id": "j1",
                "url": "https://j.example/1",
                "title": "J",
                "content_text": "Plain <text>.",
                "date_published": "2021-08-16T10:00:00Z",
                "authors": [{"name": "Jo"}],
                "tags": ["a"],
            }
        ],
    }
).encode()


def test_canonical_url_strips_tracking_fragment_and_default_port():
    assert canonical_url("HTTPS://E.example:443/a?utm_source=x&id=1&fbclid=z&gclid=y#frag") == "https://e.example/a?id=1"
    assert canonical_url("http://e.example:80") == "http://e.example/"
    assert canonical_url("  ") is None


def test_atom_entry_fields():
    feed = parse_feed(ATOM)
    [entry] = feed.entries
    assert feed.title == "Atom News" and feed.bozo_reason is None
    assert (entry.entry_id, entry.title, entry.published) == ("tag:e,2021:1", "First", "2021-08-16T10:00:00+00:00")
    assert entry.authors == ("Ann Writer",) and entry.categories == ("World",)
    assert "Full <b>content</b>" in entry.body_html  # content preferred over summary


def test_rdf_and_json_feed():
    assert [e.link for e in parse_feed(RDF).entries] == ["http://r.example/1"]
    [item] = parse_feed(JSON_FEED).entries
    assert (item.entry_id, item.link, item.authors, item.categories) == ("j1", "https://j.example/1", ("Jo",), ("a",))
    assert "Plain &lt;text&gt;." in item.body_html


def test_ill_formed_feed_keeps_entries_and_records_why():
    feed = parse_feed(ILL_FORMED)
    assert len(feed.entries) == 2 and feed.bozo_reason


def test_entity_bomb_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(ValueError, match="declares XML entities"):
        parse_feed(BOMB)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("content", [b"", b"<html><body>hello</body></html>", b'{"not": "a feed"}'])
def test_not_a_feed(content):
    with pytest.raises(ValueError, match="not a feed"):
        parse_feed(content)


def test_feed_records_skip_entries_seen_before_and_report_status():
    documents, status = feed_records("https://f.example/feed", ATOM)
    [document] = documents
    assert isinstance(document, RawDocument) and document.format == "feed"
    assert (document.url, document.feed_url, document.source) == (
        "https://e.example/a?id=1",
        "https://f.example/feed",
        "Atom News",
    )
    assert (status.status, status.entries, status.new_entries) == ("fetched", 1, 1)
    again, status = feed_records("https://f.example/feed", ATOM, frozenset(entry_keys(None, document.url)))
    assert again == [] and (status.entries, status.new_entries) == (1, 0)
    [error], status = feed_records("https://f.example/feed", b"<html/>")
    assert isinstance(error, ErrorRecord) and error.feed_url == "https://f.example/feed" and status.status == "failed"


def test_feeds_file(tmp_path):
    listing = tmp_path / "feeds.txt"
    listing.write_text("# news\nhttps://a.example/feed  # main\n\n/data/local.rss\n")
    assert read_feeds_file(str(listing)) == ["https://a.example/feed", "/data/local.rss"]


# ------------------------------------------------------------------------------------------- HTTP

FAST = HttpSettings(timeout=0.5, retries=2, backoff=0.01, max_bytes=1_000_000, allowed_hosts=("private",))


@pytest.fixture(scope="module")
def server():
    with FeedServer(DEV_FEEDS if DEV_FEEDS.is_dir() else None) as running:
        yield running


def test_safety_checks():
    with pytest.raises(FetchError, match="scheme 'ftp'"):
        check_url("ftp://example.com/x")
    with pytest.raises(FetchError, match="non-public address"):
        check_url("http://127.0.0.1:9/feed")
    with pytest.raises(FetchError, match="link-local"):
        check_url("http://169.254.169.254/latest")


def test_retries_5xx_then_succeeds(server):
    response = fetch(new_session(FAST), server.url("/flaky"), FAST)
    assert response.status == 200 and server.hits["/flaky"] == 3


@pytest.mark.parametrize(
    "path, reason, attempts",
    [
        ("/404", "HTTP 404", 1),
        ("/always500", "HTTP 500 Internal Server Error after 3 attempts", 3),
        ("/slow", "timed out", 3),
        ("/loop-a", "redirect loop", None),
        ("/huge", "too large", 1),
    ],
)
def test_failures_are_clear_and_bounded(server, path, reason, attempts):
    before = server.hits.get(path, 0)
    with pytest.raises(FetchError, match=reason):
        fetch(new_session(FAST), server.url(path), FAST)
    if attempts:
        assert server.hits[path] - before == attempts


def test_redirect_gzip_and_conditional_get(server):
    redirected = fetch(new_session(FAST), server.url("/redirect-to-feed"), FAST)
    assert redirected.url == server.url("/links.xml") and b"<rss" in redirected.body
    assert fetch(new_session(FAST), server.url("/gzip.xml"), FAST).body.startswith(b'<?xml version="1.0"?><rss')
    first = fetch(new_session(FAST), server.url("/etag.xml"), FAST)
    assert first.headers["ETag"] == '"v1"'
    assert fetch(new_session(FAST), server.url("/etag.xml"), FAST, {"If-None-Match": '"v1"'}).status == 304


def test_two_runs_against_the_server(server, tmp_path):
    feeds = ["/links.xml", "/etag.xml", "/404", "/always500", "/flaky", "/loop-a", "/bozo.xml", "/bomb.xml", "/gzip.xml"]
    listing = tmp_path / "feeds.txt"
    listing.write_text("\n".join(server.url(f) for f in feeds) + "\n# ftp://refused.example/feed is never read\n")
    output = tmp_path / "out"
    args = [
        "--feeds-file",
        str(listing),
        "--feed",
        server.url("/slow"),
        "--fetch-articles",
        "--allow-private-hosts",
        "--output",
        str(output),
        "--http-timeout",
        "1",
        "--http-retries",
        "2",
        "--http-backoff",
        "0.01",
        "--host-delay",
        "0.01",
    ]

    first = run_command(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    articles, duplicates, errors = table(output, "articles"), table(output, "duplicates"), table(output, "errors")
    failed = {e["source_path"]: e for e in errors}
    for path, reason in [
        ("/404", "HTTP 404"),
        ("/always500", "after 3 attempts"),
        ("/loop-a", "redirect loop"),
        ("/bomb.xml", "entity"),
        ("/slow", "timed out"),
    ]:
        assert reason in failed[server.url(path)]["error"], path
        assert failed[server.url(path)]["feed_url"] == server.url(path)
    assert "scheme 'ftp'" in failed["ftp://files.example/story.txt"]["error"]
    assert server.url("/flaky") not in failed  # 500 twice, then 200: the retry worked
    # Pages replaced the teasers; their canonical link (tracking and fragment stripped) is the article URL.
    pages = [a for a in articles if a["input_format"] == "html"]
    assert {a["url"] for a in pages} >= {server.url(f"/story/{n}") for n in range(6)}
    assert all("residents would be consulted" in a["text"] for a in pages)
    story = next(a for a in pages if a["entry_id"] == "story-0")
    assert story["feed_url"] in {server.url(f) for f in feeds} and story["categories"] == ["Local"]
    bozo = next(a for a in articles if a["feed_url"] == server.url("/bozo.xml"))
    assert bozo["source"] == "Sloppy & Co" and bozo["input_format"] == "feed"
    statuses = {f["feed_url"]: f for f in table(output, "feeds")}
    assert statuses[server.url("/bozo.xml")]["bozo_reason"] and statuses[server.url("/404")]["status"] == "failed"
    assert "documents read" in first.stdout and "feeds read" in first.stdout
    assert len(articles) > 0 and len(duplicates) > 0  # links.xml, etag.xml, flaky and gzip.xml share stories

    second = run_command(*args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(table(output, "articles")) == len(articles)  # nothing new: 304 or entries seen before
    assert len(table(output, "duplicates")) == len(duplicates)
    assert summary_numbers(second.stdout)["feeds unchanged (304)"] == 1
    statuses = [f for f in table(output, "feeds") if f["feed_url"] == server.url("/etag.xml")]
    assert sorted(f["status"] for f in statuses) == ["fetched", "not_modified"]


@needs_dev_feeds
def test_every_dev_feed_entry_is_accounted_for(tmp_path):
    output = tmp_path / "out"
    names = sorted(p.name for p in DEV_FEEDS.iterdir() if p.suffix in (".rss", ".atom", ".xml", ".rdf"))
    assert len(names) == 16
    result = run_command(*[arg for name in names for arg in ("--input", str(DEV_FEEDS / name))], "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = table(output, "articles") + table(output, "duplicates") + table(output, "errors")
    for name in names:
        expected = len(feedparser.parse((DEV_FEEDS / name).read_bytes()).entries)
        got = sum(1 for r in rows if (r.get("feed_url") or "").endswith("/" + name))
        assert got == expected, name


def test_host_throttle_limits_concurrency_and_spaces_starts():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from transforms.fetch import HostThrottle

    throttle, lock = HostThrottle(concurrency=2, delay=0.05), threading.Lock()
    in_flight, peak, starts = 0, 0, []

    def request(_):
        nonlocal in_flight, peak
        with throttle:
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
                starts.append(time.monotonic())
            time.sleep(0.1)
            with lock:
                in_flight -= 1

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(request, range(6)))
    starts.sort()
    assert peak == 2
    assert all(b - a >= 0.045 for a, b in zip(starts, starts[1:]))
