"""Feeds as Beam transforms: read every feed (and, if asked, each entry's page), and remember what was
ingested once the tables are written."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time
from collections.abc import Iterable
from typing import Optional, Union
from urllib.parse import urlsplit

import apache_beam as beam

from transforms.decode import decode_html
from transforms.feeds.formats import entry_keys
from transforms.feeds.sources import read_feed
from transforms.feeds.state import FeedPoll, load, polled, save, validators_of, with_damage
from transforms.fetch import FetchError, HostThrottle, HttpSettings, fetch, new_session
from transforms.robots import Robots
from transforms.schema import FETCH, READ, Body, ErrorRecord, FeedStatus, RawDocument
from transforms.stage import Skip, SkipCounters, SplitByType, count_in, counter
from transforms.urls import canonical_url

# Feed counters (namespace ``feeds``), with their labels in the run summary.
FEEDS_NAMESPACE = "feeds"
FEED_COUNTERS = {
    "fetched": "feeds read",
    "not_modified": "feeds unchanged (304)",
    "entries_polled": "entries polled",
    "entries_already_seen": "entries seen before",
    "pages_fetched": "article pages fetched",
    "state_damaged": "feeds whose state file was damaged (read as new)",
}


def feed_counter(name: str):
    assert name in FEED_COUNTERS, name
    return counter(FEEDS_NAMESPACE, name)


ROBOTS = "robots"  # the skip kind of an entry whose page robots.txt disallows: fetch/skipped_robots


Record = Union[RawDocument, ErrorRecord, Skip]
FeedOutputs = collections.namedtuple("FeedOutputs", ["documents", "errors", "feeds", "polls"])
PageOutputs = collections.namedtuple("PageOutputs", ["documents", "errors"])


class _FetchFeeds(beam.DoFn):
    """Read each feed with its own state only (``state.load``: one file per feed); emit its new entries, its
    status row and its ``FeedPoll`` (for ``RememberFeedState``)."""

    def __init__(self, http: HttpSettings, state_dir: Optional[str]):
        self.http, self.state_dir = http, state_dir
        self.already_seen = feed_counter("entries_already_seen")
        self.not_modified = feed_counter("not_modified")
        self.feeds = feed_counter("fetched")
        self.damaged = feed_counter("state_damaged")

    def setup(self):
        self.session = new_session(self.http)

    def teardown(self):
        self.session.close()

    def process(self, source: str) -> Iterable:
        self.feeds.inc()
        damage: list[str] = []  # this feed's damaged state files (its own, a bundle kept), said in its status row
        state, _ = load(self.state_dir, source, damaged=damage.append)
        records, status = read_feed(source, self.session, self.http, state.conditional_headers(), frozenset())
        if damage:
            self.damaged.inc()
        status = with_damage(status, damage)
        listed = frozenset(k for r in records if isinstance(r, RawDocument) for k in entry_keys(r.entry_id, r.url))
        records = [r for r in records if not isinstance(r, RawDocument) or not entry_keys(r.entry_id, r.url) & state.seen]
        if status.status == "fetched":
            status = dataclasses.replace(status, new_entries=len(records))
        if status.status == "not_modified":
            self.not_modified.inc()
        self.already_seen.inc(status.entries - status.new_entries)
        yield status
        yield from records
        yield FeedPoll(source, validators_of(status), listed if status.status == "fetched" else None)


class _FetchPages(beam.DoFn):
    """Fetch the article pages of one host, politely and as its robots.txt allows (read once per host and
    run: a host's entries come in one group); a page replaces its entry's feed content."""

    def __init__(self, http: HttpSettings):
        self.http = http
        self.pages = feed_counter("pages_fetched")
        self.skips = SkipCounters(FETCH)

    def setup(self):
        self.session = new_session(self.http)

    def teardown(self):
        self.session.close()

    def process(self, host_entries) -> Iterable:
        from concurrent.futures import ThreadPoolExecutor

        _, entries = host_entries
        throttle = HostThrottle(self.http.host_concurrency, self.http.host_delay)
        robots = None if self.http.ignore_robots else Robots(self.session, self.http)
        with ThreadPoolExecutor(max(self.http.host_concurrency, 1)) as pool:
            for record in pool.map(lambda entry: self._page(entry, throttle, robots), entries):
                if isinstance(record, Skip):
                    self.skips.count(record.kind)
                else:
                    yield record

    def _page(self, entry: RawDocument, throttle: HostThrottle, robots: Optional[Robots]) -> Record:
        try:
            if robots is not None and not robots.allowed(entry.url):
                return Skip(ROBOTS, entry.source_path)
            with throttle:
                response = fetch(self.session, entry.url, self.http, {"Accept": "text/html,application/xhtml+xml"})
        except FetchError as e:
            return ErrorRecord.of(entry.source_path, FETCH, f"article page: {e}", entry.body, feed_url=entry.feed_url)
        self.pages.inc()
        try:
            page = decode_html(response.body, response.header("Content-Type"))
        except ValueError as e:
            return ErrorRecord.of(entry.source_path, FETCH, f"article page: {e}", response.body, feed_url=entry.feed_url)
        fetched = dt.datetime.now(dt.UTC)
        return dataclasses.replace(
            entry, format=Body.HTML, body=page.text, url=canonical_url(response.url), encoding=page.encoding, crawled_at=fetched
        )


def _host_key(document: RawDocument) -> str:
    return (urlsplit(document.url).hostname or "") if document.url else ""


class FetchArticlePages(beam.PTransform):
    """Feed entries -> the same entries with their linked page as body; pages are grouped by host so
    that one worker keeps each host's concurrency and delay and reads its robots.txt once. Entries with
    no http(s) link keep their feed content; a link to another scheme is an error; a page robots.txt
    disallows is not fetched and its entry is a counted skip (``stage.Skip``: ``fetch/skipped_robots``), unless
    ``ignore_robots``."""

    def __init__(self, http: HttpSettings):
        super().__init__()
        self.http = http

    def expand(self, entries):
        unlinked = entries | "NoLink" >> beam.Filter(lambda d: not d.url)
        fetched = (
            entries
            | "HasLink" >> beam.Filter(lambda d: bool(d.url))
            | "CountIn" >> count_in(FETCH)
            | "ByHost" >> beam.Map(lambda d: (_host_key(d), d))
            | "HostGroups" >> beam.GroupByKey()
            | "Fetch" >> beam.ParDo(_FetchPages(self.http))
            | "ByType" >> SplitByType(FETCH, documents=RawDocument, errors=ErrorRecord)
        )
        documents = (unlinked, fetched.documents) | "AllEntries" >> beam.Flatten()
        return PageOutputs(documents, fetched.errors)


class ReadFeeds(beam.PTransform):
    """Feed URLs and paths -> entry documents; outputs ``.documents``, ``.errors``, ``.feeds`` (status rows)
    and ``.polls`` (what each read tells its feed's state: ``RememberFeedState``)."""

    def __init__(self, sources: list[str], http: HttpSettings, state_dir: Optional[str], fetch_articles: bool = False):
        super().__init__()
        self.sources, self.http, self.state_dir, self.fetch_articles = list(sources), http, state_dir, fetch_articles

    def expand(self, pbegin):
        read = (
            pbegin
            | "Feeds" >> beam.Create(self.sources)
            | "Spread" >> beam.Reshuffle()
            | "Fetch" >> beam.ParDo(_FetchFeeds(self.http, self.state_dir))
            | "ByType" >> SplitByType(READ, documents=RawDocument, errors=ErrorRecord, feeds=FeedStatus, polls=FeedPoll)
        )
        if not self.fetch_articles:
            return read
        pages = read.documents | "Pages" >> FetchArticlePages(self.http)
        return FeedOutputs(pages.documents, (read.errors, pages.errors) | "AllErrors" >> beam.Flatten(), read.feeds, read.polls)


class RememberFeedState(beam.PTransform):
    """After the tables are written, save each feed's state for the next run: its validators, its listed
    entries refreshed, its ingested entry keys added, what left the feed for good forgotten (``state``).
    One writer per feed: its poll and its keys grouped by feed URL.

    ``written`` (the written file paths) orders the save after every write: a run whose writing fails never
    saves (and a run that fails later abandons its version, the state in it), so its entries are fetched
    again next time. The order is a join on one key, not a side input: on the
    DaskRunner a side input beside its own lineage holds its elements several times
    (``tests/test_dask_defects.py::test_a_side_input_beside_its_own_lineage_holds_elements_several_times``)."""

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, inputs):
        written, polls, ingested = inputs["written"], inputs["polls"], inputs["ingested"]
        feeds = (
            (
                polls | "Polls" >> beam.Map(lambda p: (p.feed_url, p)),
                ingested | "Keys" >> beam.FlatMap(_feed_keys),
            )
            | "Together" >> beam.Flatten()
            | "ByFeed" >> beam.GroupByKey()
        )
        return (
            {
                "written": written
                | "Written" >> beam.combiners.Count.Globally().without_defaults()
                | "Done" >> beam.Map(lambda n: (0, n)),
                "feed": feeds | "OneKey" >> beam.Map(lambda feed: (0, feed)),
            }
            | "AfterWriting" >> beam.CoGroupByKey()
            | "EachFeed" >> beam.FlatMap(lambda gathered: gathered[1]["feed"])
            | "Reshuffle" >> beam.Reshuffle()
            | "Save" >> beam.Map(_save_feed, self.state_dir)
        )


def _feed_keys(record) -> Iterable[tuple[str, str]]:
    """A feed entry's (feed URL, key) pairs; an article from a file has none."""
    return ((record.feed_url, key) for key in entry_keys(record.entry_id, record.url)) if record.feed_url else ()


def _save_feed(grouped, state_dir: str) -> int:
    feed_url, items = grouped
    polls = [item for item in items if isinstance(item, FeedPoll)]
    keys = {item for item in items if isinstance(item, str)}
    state, bundles = load(state_dir, feed_url, damaged=lambda damage: None)  # said by the feed's reader
    save(state_dir, polled(state, polls[0] if polls else None, keys, time.time()), folded=bundles)
    return len(keys)
