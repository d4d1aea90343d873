"""The records a document becomes on its way through the pipeline; the Parquet schemas follow from them.

Every stage passes these records and nothing else, so a stage can be read, tested and replaced on its own.
A document's life: ``RawDocument`` (read) -> ``Article`` (parsed, then cleaned, deduplicated and tagged
in place with ``dataclasses.replace``) -> a row of ``articles``, ``entities`` or ``duplicates``. A document
that fails at any stage becomes one ``ErrorRecord`` instead.

A column is defined once, as a dataclass field: ``arrow_schema`` derives each table's Arrow schema from the
field types (``int`` is int32, ``float`` float64, ``datetime`` a UTC timestamp, ``tuple[X, ...]`` a list).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import typing
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import pyarrow as pa


# Stage names: the ``stage`` column of the errors table, and each stage's metrics namespace.
READ, FETCH, PARSE, CLEAN, DEDUPE, TAG, WRITE = "read", "fetch", "parse", "clean", "dedupe", "tag", "write"
STAGES = (READ, FETCH, PARSE, CLEAN, DEDUPE, TAG, WRITE)  # in the order a document passes them
ERROR_STAGES = (READ, FETCH, PARSE, CLEAN, TAG)  # the stages that write error rows

EXCERPT_CHARS = 200


class Body(enum.StrEnum):
    """What a document's body is, which decides how the parse stage reads it (``parse.PARSERS``); every
    input format (``transforms.formats``) yields one of these. A ``str``: it is the ``input_format`` column."""

    TEXT = "text"  # a plain-text page dump: kept whole, its metadata from its first lines
    HTML = "html"  # a whole page: an extractor (trafilatura) finds its main text
    FEED = "feed"  # a feed entry's HTML, rendered as it is

    @property
    def extracted(self) -> bool:
        """Its text is an extractor's main text already: ``--boilerplate auto`` leaves it whole."""
        return self is Body.HTML


@dataclasses.dataclass(frozen=True)
class RawDocument:
    """One input document as read, before any interpretation of its content."""

    doc_id: str
    source_path: str
    format: Body
    body: str
    url: Optional[str] = None
    title: Optional[str] = None
    published: Optional[str] = None  # as given by the input; parsed in the parse stage
    source: Optional[str] = None
    authors: tuple[str, ...] = ()
    feed_url: Optional[str] = None
    entry_id: Optional[str] = None
    categories: tuple[str, ...] = ()
    encoding: Optional[str] = None  # the codec its bytes were decoded with ("utf-8", "cp1252", "utf-16-le", ...)
    crawled_at: Optional[dt.datetime] = None  # when its page was fetched: a WARC record's WARC-Date
    record_id: Optional[str] = None  # provenance within an archive: the WARC-Record-ID


@dataclasses.dataclass(frozen=True)
class Geocoding:
    """Where a place (GPE, LOC, FAC) resolved in the offline gazetteer is: its ``country_code`` (ISO 3166-1
    alpha-2), coordinates, GeoNames id and ``place_type`` (country, us_state, state, city, continent); a
    demonym (NORP) carries its country's, an ORG named as a place of the article its home's; null for
    anything else. The last fields of ``Entity`` and ``EntityRow``, defined here once."""

    country_code: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    geonames_id: Optional[int] = None
    place_type: Optional[str] = None


PLACE_FIELDS = tuple(f.name for f in dataclasses.fields(Geocoding))


@dataclasses.dataclass(frozen=True)
class _Mention:
    mention: str
    label: str
    start: int
    end: int
    canonical: str


@dataclasses.dataclass(frozen=True)
class Entity(Geocoding, _Mention):
    """A named-entity mention; ``start``/``end`` are character offsets into the article's cleaned text, and
    a place carries its ``Geocoding``. The field is ``mention``, not ``text``, so that unnesting the struct
    beside the article's ``text`` column gives no clash. (Fields: ``_Mention``'s, then ``Geocoding``'s: a
    dataclass takes its bases' fields in reverse order of its bases.)
    """


@dataclasses.dataclass(frozen=True)
class Article:
    """An article from parse onwards; later stages fill the fields after ``text``."""

    article_id: str
    source_path: str
    url: Optional[str]
    source: Optional[str]
    title: Optional[str]
    authors: tuple[str, ...]
    published_at: Optional[dt.datetime]  # timezone-aware: the source's own offset in memory, UTC in Parquet
    language: Optional[str]
    text: str
    input_format: str  # a ``Body``: "text", "html" or "feed": which extraction path produced ``text``
    encoding: Optional[str] = None  # the codec the input's bytes were decoded with (RawDocument.encoding)
    crawled_at: Optional[dt.datetime] = None  # when the page was fetched (a WARC record's date), else null
    record_id: Optional[str] = None  # the WARC-Record-ID of the record it came from, else null
    feed_url: Optional[str] = None
    entry_id: Optional[str] = None
    categories: tuple[str, ...] = ()
    published_source: Optional[str] = None  # where published_at came from: parse.patterns.DATE_SOURCES
    agency: Optional[str] = None  # a news agency credited in the byline ("AP", "Reuters"), not an author
    word_count: int = 0
    content_hash: str = ""
    cluster_id: str = ""
    duplicate_count: int = 0
    entities: tuple[Entity, ...] = ()
    tone: Optional[float] = None  # mean VADER compound over sentences, in [-1, 1]; null without a lexicon

    @property
    def published_date(self) -> Optional[dt.date]:
        """The publisher's day: the calendar day in the offset the source stated (a page stamped
        2020-10-14T05:50+08:00 ran on the 14th, though it is the 13th in UTC), the UTC day when it stated
        none. The ``published_date`` column of ``articles`` and ``entities``, or None; ``published_at`` is
        the exact instant (UTC in Parquet). docs/metadata.md measures why."""
        if self.published_at is None:
            return None
        return self.published_at.date()


@dataclasses.dataclass(frozen=True)
class _EntityCount:
    article_id: str
    entity: str
    label: str
    mentions: int


@dataclasses.dataclass(frozen=True)
class EntityRow(Geocoding, _EntityCount):
    """One canonical entity of an article with its mention count: a row of the ``entities`` table. A place
    carries its canonical name's geocoding, so the table maps without unnesting ``articles.entities``."""


@dataclasses.dataclass(frozen=True)
class Duplicate:
    """A document dropped by dedupe, pointing at the article that was kept in its place."""

    article_id: str
    source_path: str
    url: Optional[str]
    source: Optional[str]
    cluster_id: str
    canonical_article_id: str
    similarity: float  # estimated share of the longer text that the shorter repeats (1.0: exact copy)
    feed_url: Optional[str] = None
    entry_id: Optional[str] = None
    published_at: Optional[dt.datetime] = None  # the copy's own publication time: who ran the story when


@dataclasses.dataclass(frozen=True)
class IndexedBand:
    """A row of the dedupe index's ``bands`` table: an earlier article under one of its LSH band keys."""

    band_key: str
    article_id: str


@dataclasses.dataclass(frozen=True)
class IndexedSketch:
    """A row of the dedupe index's ``sketches`` table: what a later run needs to verify a copy of an earlier
    article (articles and duplicates alike) and to point at its cluster."""

    article_id: str
    cluster_id: str
    at: dt.datetime  # event time: published, or ingested when undated
    signature: bytes
    shingles: int
    outline: bytes  # null in rows written before outlines were kept
    ingested_at: Optional[dt.datetime] = None  # when its run read it (null in rows written before); ``at`` if undated


@dataclasses.dataclass(frozen=True)
class ErrorRecord:
    """A document that could not go on, with the stage that stopped it and why."""

    source_path: str
    stage: str
    error: str
    excerpt: str = ""
    feed_url: Optional[str] = None

    @classmethod
    def of(cls, source_path: str, stage: str, error: str, content: object = "", feed_url: Optional[str] = None) -> ErrorRecord:
        if isinstance(content, bytes):
            content = content[:EXCERPT_CHARS].decode("utf-8", errors="backslashreplace")
        return cls(source_path, stage, error, str(content)[:EXCERPT_CHARS], feed_url)


@dataclasses.dataclass(frozen=True)
class FeedStatus:
    """One fetch of one feed: what came back, for the ``feeds`` table and the next run's conditional GET."""

    feed_url: str
    status: str  # "fetched", "not_modified" or "failed"
    fetched_at: dt.datetime
    http_status: Optional[int] = None
    entries: int = 0  # entries in the feed
    new_entries: int = 0  # entries not ingested by an earlier run
    title: Optional[str] = None
    bozo_reason: Optional[str] = None  # why the feed is ill-formed, when it is (its entries are still read)
    etag: Optional[str] = None
    last_modified: Optional[str] = None
    error: Optional[str] = None


# ------------------------------------------------------------------------------ Arrow, from the records
# pyarrow (~37 MiB) is imported when a schema is first asked for, not with the records: the HTML
# extraction's child process (parse.limit) unpickles records and never writes a table (docs/scale.md).

# The tables and the record whose fields are their columns.
TABLE_RECORDS = {"articles": Article, "entities": EntityRow, "duplicates": Duplicate, "errors": ErrorRecord, "feeds": FeedStatus}
_SCHEMA_NAMES = {
    "ARTICLES_SCHEMA": "articles",
    "ENTITIES_SCHEMA": "entities",
    "DUPLICATES_SCHEMA": "duplicates",
    "ERRORS_SCHEMA": "errors",
    "FEEDS_SCHEMA": "feeds",
}


def _scalars() -> dict:
    import pyarrow as pa

    return {
        str: pa.string(),
        int: pa.int32(),
        float: pa.float64(),
        bool: pa.bool_(),
        bytes: pa.binary(),
        dt.datetime: pa.timestamp("us", tz="UTC"),
    }


def arrow_type(hint) -> pa.DataType:
    """The Arrow type of a record field's type hint."""
    import pyarrow as pa

    if dataclasses.is_dataclass(hint):
        return pa.struct(list(arrow_schema(hint)))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]: every column is nullable anyway
        (inner,) = [a for a in args if a is not type(None)]
        return arrow_type(inner)
    if origin is tuple:
        return pa.list_(arrow_type(args[0]))
    return _scalars()[hint]


@functools.cache
def arrow_schema(record_type: type) -> pa.Schema:
    import pyarrow as pa

    hints = typing.get_type_hints(record_type)
    return pa.schema([(f.name, arrow_type(hints[f.name])) for f in dataclasses.fields(record_type)])


@functools.cache
def _schemas() -> dict:
    return {table: arrow_schema(record) for table, record in TABLE_RECORDS.items()}


def __getattr__(name: str):
    """``SCHEMAS`` (table -> Arrow schema) and ``ARTICLES_SCHEMA`` etc., made on first use."""
    if name == "SCHEMAS":
        return _schemas()
    if name in _SCHEMA_NAMES:
        return arrow_schema(TABLE_RECORDS[_SCHEMA_NAMES[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def record_row(record) -> dict:
    """A record as a Parquet row: its fields by name, nested records as dicts, tuples as lists. Not
    ``dataclasses.asdict``, which deep-copies every value: twice the time, on every row written."""
    return {name: _plain(getattr(record, name)) for name in _field_names(type(record))}


@functools.cache
def _field_names(record_type: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(record_type))


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record_row(value)
    return value


def entity_rows(article: Article) -> list[dict]:
    """One row per canonical entity of an article, with its mention count and place, for analytics.

    Geocoding is by canonical name, so every mention of one (canonical, label) carries the same place;
    the first mention's is taken."""
    counts: dict[tuple[str, str], int] = {}
    places: dict[tuple[str, str], tuple] = {}
    for e in article.entities:
        key = (e.canonical, e.label)
        counts[key] = counts.get(key, 0) + 1
        places.setdefault(key, tuple(getattr(e, name) for name in PLACE_FIELDS))
    return [
        record_row(EntityRow(article.article_id, name, label, n, *places[(name, label)]))
        for (name, label), n in sorted(counts.items())
    ]


def document_id(source: str, key: object = None) -> str:
    """A stable id: the same input (and line or entry) gives the same id on every run and runner."""
    text = source if key is None else f"{source}#{key}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def shard_of(key: str, shards: int) -> int:
    """A shard number that is the same in every process (Python's ``hash`` of a str is not)."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest()[:8], 16) % max(shards, 1)
