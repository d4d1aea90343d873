"""Feeds: RSS 0.9x/1.0/2.0, Atom, RDF and JSON Feed, from local files or HTTP, -> ``RawDocument`` records,
one per entry, feeding the same parse -> clean -> dedupe -> tag -> write stages as files.

feedparser reads the XML formats; ill-formed ("bozo") feeds still give their entries and the reason is
kept in the ``feeds`` table. A feed that declares XML entities is refused before parsing: no news feed
needs them, and they are how entity-expansion bombs work. HTTP fetches use conditional GET with the
``ETag``/``Last-Modified`` remembered from the last run, and entries ingested by an earlier run (same entry
id or canonical URL) are skipped. Both memories live in ``FeedState``, a JSON file under the state folder,
written only after the run's tables are.
"""

from __future__ import annotations

import calendar
import collections
import dataclasses
import datetime as dt
import json
import posixpath
import re
import uuid
from typing import Iterable, Optional, Union
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.fetch import FetchError, HostThrottle, HttpSettings, fetch, new_session
from transforms.read import decode_html
from transforms.schema import FETCH, READ, ErrorRecord, FeedStatus, RawDocument, document_id
from transforms.stage import SplitByType
from transforms.urls import canonical_url, is_url

ACCEPT_FEEDS = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
STATE_FILE = "feeds.json"
INGESTED_FOLDER = "ingested"
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)


@dataclasses.dataclass(frozen=True)
class FeedEntry:
    entry_id: Optional[str]
    link: Optional[str]
    title: Optional[str]
    body_html: str
    published: Optional[str]  # ISO 8601, UTC
    authors: tuple[str, ...]
    categories: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    title: Optional[str]
    entries: list[FeedEntry]
    bozo_reason: Optional[str]


# ---------------------------------------------------------------------------------- plain functions


def read_feeds_file(path: str) -> list[str]:
    """Feed URLs or paths, one a line; blank lines and ``#`` comments skipped."""
    with FileSystems.open(path) as handle:
        lines = handle.read().decode("utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def refuse_entity_declarations(content: bytes) -> None:
    if _ENTITY_DECLARATION.search(content):
        raise ValueError("refused: the feed declares XML entities (entity-expansion bomb protection)")


def _iso(struct) -> Optional[str]:
    if not struct:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.timezone.utc).isoformat()


def parse_feed(content: bytes) -> ParsedFeed:
    """A feed's title and entries; ``ValueError`` if the content is no feed at all."""
    if not content.strip():
        raise ValueError("not a feed: empty response")
    refuse_entity_declarations(content)
    if content.lstrip()[:1] == b"{":
        return parse_json_feed(content)
    import feedparser

    parsed = feedparser.parse(content, sanitize_html=True, resolve_relative_uris=True)
    bozo = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}" if parsed.get("bozo") else None
    if not parsed.entries and not parsed.get("version"):
        raise ValueError(f"not a feed: {bozo or 'no RSS, Atom or RDF root element'}")
    entries = []
    for item in parsed.entries:
        body = max([c.get("value") or "" for c in item.get("content", [])] + [item.get("summary") or ""], key=len)
        authors = tuple(a["name"] for a in item.get("authors", []) if a.get("name")) or (
            (item["author"],) if item.get("author") else ()
        )
        entries.append(
            FeedEntry(
                entry_id=item.get("id") or None,
                link=item.get("link") or None,
                title=item.get("title") or None,
                body_html=body,
                published=_iso(item.get("published_parsed") or item.get("updated_parsed")),
                authors=authors,
                categories=tuple(t["term"] for t in item.get("tags", []) if t.get("term")),
            )
        )
    return ParsedFeed(parsed.feed.get("title") or None, entries, bozo)


def parse_json_feed(content: bytes) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser does not read."""
    try:
        feed = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"not a feed: invalid JSON ({e})") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise ValueError("not a feed: JSON without a jsonfeed.org version")
    entries = []
    for item in feed.get("items") or []:
        if not isinstance(item, dict):
            continue
        text = item.get("content_text")
        body = item.get("content_html") or (f"<pre>{_escape(text)}</pre>" if text else "") or item.get("summary") or ""
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        entries.append(
            FeedEntry(
                entry_id=str(item["id"]) if item.get("id") is not None else None,
                link=item.get("url") or item.get("external_url"),
                title=item.get("title"),
                body_html=body,
                published=item.get("date_published") or item.get("date_modified"),
                authors=tuple(a.get("name") for a in authors if isinstance(a, dict) and a.get("name")),
                categories=tuple(str(t) for t in item.get("tags") or []),
            )
        )
    return ParsedFeed(feed.get("title"), entries, None)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def entry_keys(entry_id: Optional[str], url: Optional[str]) -> set[str]:
    """What makes an entry 'already ingested': its id, or its canonical URL."""
    keys = set()
    if entry_id:
        keys.add(f"id:{entry_id}")
    if url:
        keys.add(f"url:{url}")
    return keys


def entry_document(feed_url: str, feed_title: Optional[str], index: int, entry: FeedEntry) -> RawDocument:
    url = canonical_url(entry.link)
    key = entry.entry_id or url or str(index)
    return RawDocument(
        doc_id=document_id(feed_url, key),
        source_path=url or f"{feed_url}#{key}",
        format="feed",
        body=entry.body_html,
        url=url,
        title=entry.title,
        published=entry.published,
        source=feed_title,
        authors=entry.authors,
        feed_url=feed_url,
        entry_id=entry.entry_id,
        categories=entry.categories,
    )


def feed_records(feed_url: str, content: bytes, seen: frozenset[str] = frozenset()) -> tuple[list, FeedStatus]:
    """A feed's entries as raw documents (those not ``seen`` before), or one error; and its status row."""
    now = dt.datetime.now(dt.timezone.utc)
    try:
        feed = parse_feed(content)
    except ValueError as e:
        error = ErrorRecord.of(feed_url, READ, str(e), content, feed_url=feed_url)
        return [error], FeedStatus(feed_url, "failed", now, error=str(e))
    documents = [entry_document(feed_url, feed.title, i, e) for i, e in enumerate(feed.entries)]
    new = [d for d in documents if not entry_keys(d.entry_id, d.url) & seen]
    status = FeedStatus(feed_url, "fetched", now, entries=len(documents), new_entries=len(new), title=feed.title,
                        bozo_reason=feed.bozo_reason)
    return new, status


def read_feed(source: str, session, http: HttpSettings, headers: dict[str, str], seen) -> tuple[list, FeedStatus]:
    """Read one feed (a URL with conditional GET ``headers``, or a local path): its entries not ``seen``
    before as raw documents, or one error; and its status row."""
    now = dt.datetime.now(dt.timezone.utc)
    if not is_url(source):  # a local path, given explicitly
        try:
            with FileSystems.open(source) as handle:
                content = handle.read()
        except OSError as e:
            return [ErrorRecord.of(source, READ, f"cannot read feed file: {e}", feed_url=source)], FeedStatus(source, "failed", now, error=str(e))
        return feed_records(source, content, seen)
    try:
        response = fetch(session, source, http, {"Accept": ACCEPT_FEEDS, **headers})
    except FetchError as e:
        return [ErrorRecord.of(source, FETCH, str(e), feed_url=source)], FeedStatus(source, "failed", now, error=str(e))
    if response.status == 304:
        return [], FeedStatus(source, "not_modified", now, http_status=304)
    records, status = feed_records(source, response.body, seen)
    return records, dataclasses.replace(
        status, http_status=response.status, etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


# ------------------------------------------------------------------------------------------- state


@dataclasses.dataclass
class FeedState:
    """What the next run must remember: each feed's validators and the keys of the entries ingested."""

    validators: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def load(cls, state_dir: Optional[str]) -> "FeedState":
        path = state_path(state_dir)
        if not path:
            return cls()
        data = {}
        if FileSystems.exists(path):
            with FileSystems.open(path) as handle:
                data = json.loads(handle.read().decode("utf-8"))
        return cls(data.get("validators", {}), set(data.get("seen", [])) | ingested_keys(state_dir))

    def save(self, state_dir: str) -> None:
        path = state_path(state_dir)
        folder = posixpath.dirname(path)
        if not FileSystems.exists(folder):
            FileSystems.mkdirs(folder)
        temporary = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
        with FileSystems.create(temporary) as sink:
            sink.write(json.dumps({"validators": self.validators, "seen": sorted(self.seen)}, indent=1).encode("utf-8"))
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([temporary], [path])

    def conditional_headers(self, feed_url: str) -> dict[str, str]:
        return conditional_headers(self.validators.get(feed_url, {}))


def conditional_headers(validators: dict[str, str]) -> dict[str, str]:
    headers = {}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def validators_of(status: FeedStatus) -> dict[str, str]:
    return {k: v for k, v in (("etag", status.etag), ("last_modified", status.last_modified)) if v}


def ingested_keys(state_dir: str) -> set[str]:
    """The entry keys a streaming job recorded, one file per bundle it wrote (no file is ever rewritten,
    so parallel writers never race)."""
    keys: set[str] = set()
    for match in FileSystems.match([FileSystems.join(state_dir, INGESTED_FOLDER, "*.txt")])[0].metadata_list:
        with FileSystems.open(match.path) as handle:
            keys.update(line for line in handle.read().decode("utf-8").splitlines() if line)
    return keys


def record_ingested_keys(state_dir: str, keys: Iterable[str]) -> None:
    keys = sorted(set(keys))
    if not keys:
        return
    folder = FileSystems.join(state_dir, INGESTED_FOLDER)
    if not FileSystems.exists(folder):
        try:
            FileSystems.mkdirs(folder)
        except OSError:  # made meanwhile by another worker
            pass
    name = uuid.uuid4().hex
    temporary = FileSystems.join(folder, f".{name}.tmp")
    with FileSystems.create(temporary) as sink:
        sink.write("\n".join(keys).encode("utf-8"))
    FileSystems.rename([temporary], [FileSystems.join(folder, f"{name}.txt")])


def state_path(state_dir: Optional[str]) -> Optional[str]:
    return FileSystems.join(state_dir, STATE_FILE) if state_dir else None


def updated_state(state: FeedState, statuses: Iterable[FeedStatus], ingested_keys: Iterable[str]) -> FeedState:
    validators = dict(state.validators)
    for status in statuses:
        if status.status == "fetched" and validators_of(status):
            validators[status.feed_url] = validators_of(status)
    return FeedState(validators, state.seen | set(ingested_keys))


# ----------------------------------------------------------------------------------- Beam transforms

Record = Union[RawDocument, ErrorRecord]
FeedOutputs = collections.namedtuple("FeedOutputs", ["documents", "errors", "feeds"])
PageOutputs = collections.namedtuple("PageOutputs", ["documents", "errors"])


class _FetchFeeds(beam.DoFn):
    def __init__(self, http: HttpSettings, state_dir: Optional[str]):
        self.http, self.state_dir = http, state_dir
        self.documents = beam.metrics.Metrics.counter("pipeline", "documents_read")
        self.already_seen = beam.metrics.Metrics.counter("pipeline", "entries_already_seen")
        self.not_modified = beam.metrics.Metrics.counter("pipeline", "feeds_not_modified")
        self.feeds = beam.metrics.Metrics.counter("pipeline", "feeds_fetched")

    def setup(self):
        self.state = FeedState.load(self.state_dir)
        self.seen = frozenset(self.state.seen)
        self.session = new_session()

    def teardown(self):
        self.session.close()

    def process(self, source: str) -> Iterable:
        self.feeds.inc()
        records, status = read_feed(source, self.session, self.http, self.state.conditional_headers(source), self.seen)
        if status.status == "not_modified":
            self.not_modified.inc()
        self.already_seen.inc(status.entries - status.new_entries)
        yield status
        for record in records:
            self.documents.inc()
            yield record


class _FetchPages(beam.DoFn):
    """Fetch the article pages of one host, politely; a page replaces its entry's feed content."""

    def __init__(self, http: HttpSettings):
        self.http = http
        self.pages = beam.metrics.Metrics.counter("pipeline", "pages_fetched")

    def setup(self):
        self.session = new_session()

    def teardown(self):
        self.session.close()

    def process(self, host_entries) -> Iterable:
        from concurrent.futures import ThreadPoolExecutor

        _, entries = host_entries
        throttle = HostThrottle(self.http.host_concurrency, self.http.host_delay)
        with ThreadPoolExecutor(max(self.http.host_concurrency, 1)) as pool:
            yield from pool.map(lambda entry: self._page(entry, throttle), entries)

    def _page(self, entry: RawDocument, throttle: HostThrottle) -> Record:
        try:
            with throttle:
                response = fetch(self.session, entry.url, self.http, {"Accept": "text/html,application/xhtml+xml"})
        except FetchError as e:
            return ErrorRecord.of(entry.source_path, FETCH, f"article page: {e}", entry.body, feed_url=entry.feed_url)
        self.pages.inc()
        try:
            html = decode_html(response.body)
        except ValueError as e:
            return ErrorRecord.of(entry.source_path, FETCH, f"article page: {e}", response.body, feed_url=entry.feed_url)
        return dataclasses.replace(entry, format="html", body=html, url=canonical_url(response.url))


def _host_key(document: RawDocument) -> str:
    return (urlsplit(document.url).hostname or "") if document.url else ""


class FetchArticlePages(beam.PTransform):
    """Feed entries -> the same entries with their linked page as body; pages are grouped by host so
    that one worker keeps each host's concurrency and delay. Entries with no http(s) link keep their
    feed content; a link to another scheme is an error."""

    def __init__(self, http: HttpSettings):
        super().__init__()
        self.http = http

    def expand(self, entries):
        unlinked = entries | "NoLink" >> beam.Filter(lambda d: not d.url)
        fetched = (
            entries
            | "HasLink" >> beam.Filter(lambda d: bool(d.url))
            | "ByHost" >> beam.Map(lambda d: (_host_key(d), d))
            | "HostGroups" >> beam.GroupByKey()
            | "Fetch" >> beam.ParDo(_FetchPages(self.http))
            | "ByType" >> SplitByType(documents=RawDocument, errors=ErrorRecord)
        )
        documents = (unlinked, fetched.documents) | "AllEntries" >> beam.Flatten()
        return PageOutputs(documents, fetched.errors)


class ReadFeeds(beam.PTransform):
    """Feed URLs and paths -> entry documents; outputs ``.documents``, ``.errors`` and ``.feeds`` (status rows)."""

    def __init__(self, sources: list[str], http: HttpSettings, state_dir: Optional[str], fetch_articles: bool = False):
        super().__init__()
        self.sources, self.http, self.state_dir, self.fetch_articles = list(sources), http, state_dir, fetch_articles

    def expand(self, pbegin):
        read = (
            pbegin
            | "Feeds" >> beam.Create(self.sources)
            | "Spread" >> beam.Reshuffle()
            | "Fetch" >> beam.ParDo(_FetchFeeds(self.http, self.state_dir))
            | "ByType" >> SplitByType(documents=RawDocument, errors=ErrorRecord, feeds=FeedStatus)
        )
        if not self.fetch_articles:
            return read
        pages = read.documents | "Pages" >> FetchArticlePages(self.http)
        return FeedOutputs(pages.documents, (read.errors, pages.errors) | "AllErrors" >> beam.Flatten(), read.feeds)


class RememberFeedState(beam.PTransform):
    """After the tables are written, save the validators and the ingested entry keys for the next run.

    ``written`` (the written file paths) gates the save: a run that fails before writing remembers nothing,
    so its entries are fetched again next time."""

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, inputs):
        written, statuses, ingested = inputs["written"], inputs["feeds"], inputs["ingested_keys"]
        return (
            (
                written | "Written" >> beam.combiners.Count.Globally() | "Done" >> beam.Map(lambda n: ("done", n)),
                statuses | "Statuses" >> beam.Map(lambda s: ("feed", s)),
                ingested | "Keys" >> beam.Map(lambda k: ("key", k)),
            )
            | "Together" >> beam.Flatten()
            | "OneKey" >> beam.Map(lambda item: (0, item))
            | "Gather" >> beam.GroupByKey()
            | "Save" >> beam.Map(_save_state, self.state_dir)
        )


def _save_state(gathered, state_dir: str) -> int:
    _, items = gathered
    statuses = [value for kind, value in items if kind == "feed"]
    keys = [value for kind, value in items if kind == "key"]
    updated_state(FeedState.load(state_dir), statuses, keys).save(state_dir)
    return len(keys)
