"""robots.txt for --fetch-articles (transforms/robots.py): read once per host and run, a disallowed page a
counted skip, an unreadable file an error row per page, --ignore-robots for archives one owns. Against a
real HTTP server on 127.0.0.1."""

import re

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from pipelines.summary import documents_read, mismatches, summary
from tests.support.cli import run_command, summary_numbers
from tests.support.feed_server import FeedServer
from transforms.feeds.transforms import FetchArticlePages
from transforms.fetch import FetchError, HttpSettings, new_session
from transforms.robots import Robots
from transforms.schema import RawDocument

HTTP = HttpSettings(allowed_hosts=("127.0.0.1",), retries=1, backoff=0.01, host_delay=0.0, timeout=2)
RULES = b"User-agent: *\nDisallow: /article/1.html\n\nUser-agent: news-ingest\nDisallow: /article/2.html\n"


@pytest.fixture
def server():
    with FeedServer(articles=4) as s:
        yield s


def entry(server: FeedServer, n: int) -> RawDocument:
    return RawDocument(f"e{n}", server.url("/links.xml"), "feed", f"Teaser {n}", url=server.url(f"/article/{n}.html"))


def test_rules_for_our_agent_are_read_once_per_host(server):
    server.robots = (200, RULES)
    robots = Robots(new_session(HTTP), HTTP)
    # Our own group replaces the * group (RFC 9309): /article/1.html is disallowed only to others.
    assert [robots.allowed(server.url(f"/article/{n}.html")) for n in range(4)] == [True, True, False, True]
    assert server.hits["/robots.txt"] == 1


def test_no_robots_txt_allows_all_and_an_unreadable_one_allows_nothing(server):
    assert Robots(new_session(HTTP), HTTP).allowed(server.url("/article/1.html"))
    server.robots = (503, b"down")
    robots = Robots(new_session(HTTP), HTTP)
    for _ in range(2):
        with pytest.raises(FetchError, match=r"robots.txt could not be read, so nothing there is fetched: HTTP 503"):
            robots.allowed(server.url("/article/0.html"))
    assert server.hits["/robots.txt"] == 1 + 2  # the 404, then one fetch of two attempts, remembered


def test_a_disallowed_page_is_never_requested_and_counted(test_pipeline, server):
    server.robots = (200, b"User-agent: *\nDisallow: /article/2\n")
    p = test_pipeline
    pages = p | beam.Create([entry(server, n) for n in range(4)]) | FetchArticlePages(HTTP)
    assert_that(pages.documents | beam.Map(lambda d: (d.doc_id, d.format)), equal_to([(f"e{n}", "html") for n in (0, 1, 3)]))
    assert_that(pages.errors, equal_to([]), label="no errors")
    result = p.run()
    result.wait_until_finish()
    counts = {c.key.metric.name: c.committed for c in result.metrics().query(MetricsFilter().with_namespace("fetch"))["counters"]}
    assert (counts["in"], counts["documents"], counts.get("errors", 0), counts["skipped_robots"]) == (4, 3, 0, 1)
    assert "/article/2.html" not in server.hits and server.hits["/robots.txt"] == 1


def test_ignore_robots_fetches_every_page_without_asking(test_pipeline, server):
    server.robots = (200, b"User-agent: *\nDisallow: /\n")
    with test_pipeline as p:
        pages = (
            p
            | beam.Create([entry(server, n) for n in range(4)])
            | FetchArticlePages(HttpSettings(**{**HTTP.__dict__, "ignore_robots": True}))
        )
        assert_that(pages.documents | beam.Map(lambda d: d.format), equal_to(["html"] * 4))
    assert "/robots.txt" not in server.hits


def test_an_unreadable_robots_txt_makes_error_rows_that_say_so(test_pipeline, server):
    server.robots = (500, b"")
    with test_pipeline as p:
        pages = p | beam.Create([entry(server, n) for n in range(2)]) | FetchArticlePages(HTTP)
        assert_that(
            pages.errors | beam.Map(lambda e: (e.stage, "robots.txt could not be read" in e.error)),
            equal_to([("fetch", True)] * 2),
        )
    assert not any(path.startswith("/article/") for path in server.hits)


def test_the_summary_balances_with_disallowed_pages():
    """A disallowed page is a document read and then set aside by rule, like a filter's skip: one summary
    row (``skipped at fetch: robots``), and read = articles + duplicates + errors + skips."""
    totals = {
        ("read", "documents"): 10,
        ("fetch", "in"): 8,
        ("fetch", "documents"): 5,
        ("fetch", "errors"): 1,
        ("fetch", "skipped_robots"): 2,
        ("parse", "in"): 7,
        ("parse", "articles"): 7,
        ("clean", "in"): 7,
        ("clean", "articles"): 7,
        ("dedupe", "in"): 7,
        ("dedupe", "articles"): 6,
        ("dedupe", "duplicates"): 1,
        ("tag", "in"): 6,
        ("tag", "articles"): 6,
        ("write", "articles"): 6,
        ("write", "duplicates"): 1,
        ("write", "errors"): 1,
    }
    assert documents_read(totals) == 10
    assert mismatches(totals) == []
    text, balanced = summary(totals, 1.0)
    assert re.search(r"^skipped at fetch: robots +2$", text, re.M) and balanced, text
    unbalanced, balanced = summary({**totals, ("fetch", "skipped_robots"): 1}, 1.0)
    assert not balanced and "ACCOUNTING MISMATCH at fetch" in unbalanced  # a skip that is not counted breaks it


def test_a_run_counts_disallowed_pages_and_balances(server, tmp_path):
    server.robots = (200, b"User-agent: news-ingest\nDisallow: /article/1.html\n")
    output = tmp_path / "out"
    args = ["--feed", server.url("/links.xml"), "--fetch-articles", "--allow-private-hosts", "--host-delay", "0"]
    done = run_command(*args, "--output", str(output), "--http-retries", "0")
    assert done.returncode == 0, done.stderr[-3000:]
    numbers = summary_numbers(done.stdout)
    skipped = int(re.search(r"^skipped at fetch: robots +(\d+)$", done.stdout, re.M)[1])
    assert skipped == 1 and "MISMATCH" not in done.stdout
    # 4 linked pages and the ftp link: 3 fetched, 1 disallowed (never requested), the ftp link an error row.
    written = numbers["articles written"] + numbers["duplicates"] + numbers["errors"]
    assert numbers["documents read"] == 5 == written + skipped
    assert "/article/1.html" not in server.hits and server.hits["/robots.txt"] == 1
