"""Feed formats: RSS 0.9x/1.0/2.0, Atom and RDF (feedparser) and JSON Feed -> one ``RawDocument`` per entry.

Ill-formed ("bozo") feeds still give their entries, and the reason is kept in the ``feeds`` table. One bad
entry is one error row (``FEED#item-N``), never the whole feed's loss or a failed run: a JSON Feed field of
the wrong type (a title that is an object, a url that is a number), or what feedparser makes of a foreign
element named like one of its keys (``<authors>``, ``<published_parsed>``). A feed
is decoded first (UTF-16/32, legacy charsets) and handed on as UTF-8, so that the guard sees its markup
whatever its encoding: a feed that declares XML entities is refused before parsing, as no news feed needs
them and they are how entity-expansion bombs work.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import hashlib
import json
import re
import time
from typing import Optional

from transforms.decode import feed_as_utf8
from transforms.schema import READ, Body, ErrorRecord, FeedStatus, RawDocument, document_id
from transforms.urls import canonical_url

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
    position: int = 0  # in the feed, from 1: names the entry in an error row


@dataclasses.dataclass(frozen=True)
class BadEntry:
    """An entry that could not be read, by its position in the feed (1-based), and why."""

    position: int
    reason: str
    excerpt: str = ""


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    title: Optional[str]
    entries: list[FeedEntry]
    bozo_reason: Optional[str]
    encoding: Optional[str] = None
    bad_entries: tuple[BadEntry, ...] = ()


class WrongType(ValueError):
    """A field of an entry holds a value of the wrong type."""


_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


def type_name(value: object) -> str:
    return _JSON_TYPES.get(type(value), f"a {type(value).__name__}")


def text_field(item, name: str, numbers: bool = False) -> Optional[str]:
    """``item[name]`` as a string, or None when absent, null or empty; ``WrongType`` for any other type
    (``numbers``: a number is taken as its text, as JSON Feed says of ``id``)."""
    value = item.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise WrongType(f"{name!r} is {type_name(value)}, expected a string")


def list_field(item, name: str) -> list:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WrongType(f"{name!r} is {type_name(value)}, expected a list")
    return value


def list_of(item, name: str, kind: type, kinds: str) -> list:
    """``item[name]`` as a list whose members are all ``kind`` (``kinds``: their name in a message)."""
    values = list_field(item, name)
    odd = [v for v in values if not isinstance(v, kind)]
    if odd:
        raise WrongType(f"{name!r} holds {type_name(odd[0])}, expected {kinds}")
    return values


def entry_excerpt(item) -> str:
    try:
        return json.dumps(item, default=str)[:200]
    except (TypeError, ValueError):
        return repr(item)[:200]


def refuse_entity_declarations(content: bytes) -> None:
    if _ENTITY_DECLARATION.search(content):
        raise ValueError("refused: the feed declares XML entities (entity-expansion bomb protection)")


def _iso(struct) -> Optional[str]:
    if not struct:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.UTC).isoformat()


def parse_feed(content: bytes, content_type: Optional[str] = None) -> ParsedFeed:
    """A feed's title and entries; ``ValueError`` if the content is no feed at all or undecodable."""
    if not content.strip():
        raise ValueError("not a feed: empty response")
    content, encoding = feed_as_utf8(content, content_type)
    refuse_entity_declarations(content)
    if content.lstrip()[:1] == b"{":
        return dataclasses.replace(parse_json_feed(content), encoding=encoding)
    import feedparser

    parsed = feedparser.parse(content, sanitize_html=True, resolve_relative_uris=True)
    bozo = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}" if parsed.get("bozo") else None
    if not parsed.entries and not parsed.get("version"):
        raise ValueError(f"not a feed: {bozo or 'no RSS, Atom or RDF root element'}")
    entries, bad = [], []
    for position, item in enumerate(parsed.entries, start=1):
        try:
            entries.append(dataclasses.replace(feedparser_entry(item), position=position))
        except Exception as e:  # what feedparser gave that we did not foresee: this entry's error row
            reason = str(e) if isinstance(e, WrongType) else f"{type(e).__name__}: {e}"
            bad.append(BadEntry(position, f"feed entry {position}: {reason}", entry_excerpt(item)))
    title = parsed.feed.get("title")
    return ParsedFeed(title if isinstance(title, str) and title else None, entries, bozo, encoding, tuple(bad))


def _struct_time(item, name: str):
    value = item.get(name)
    if not value or isinstance(value, time.struct_time):
        return value or None
    raise WrongType(f"{name!r} is {type_name(value)}, expected a parsed date")


def _dicts(item, name: str) -> list:
    return list_of(item, name, dict, "objects")


def feedparser_entry(item) -> FeedEntry:
    """One feedparser entry; ``WrongType`` where a foreign element took the place of one of its keys."""
    contents = [text_field(c, "value") or "" for c in _dicts(item, "content")]
    body = max([*contents, text_field(item, "summary") or ""], key=len)
    authors = tuple(name for a in _dicts(item, "authors") if (name := text_field(a, "name")))
    author = text_field(item, "author")
    return FeedEntry(
        entry_id=text_field(item, "id"),
        link=text_field(item, "link"),
        title=text_field(item, "title"),
        body_html=body,
        published=_iso(_struct_time(item, "published_parsed") or _struct_time(item, "updated_parsed")),
        authors=authors or ((author,) if author else ()),
        categories=tuple(term for t in _dicts(item, "tags") if (term := text_field(t, "term"))),
    )


def parse_json_feed(content: bytes) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser does not read."""
    try:
        feed = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"not a feed: invalid JSON ({e})") from None
    except RecursionError:
        raise ValueError("not a feed: invalid JSON (nested too deeply)") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise ValueError("not a feed: JSON without a jsonfeed.org version")
    try:
        items = list_field(feed, "items")
    except WrongType as e:
        raise ValueError(f"not a feed: {e}") from None
    title = feed.get("title") if isinstance(feed.get("title"), str) else None  # an odd title costs no entry
    entries, bad = [], []
    for position, item in enumerate(items, start=1):
        try:
            entries.append(dataclasses.replace(json_feed_entry(item), position=position))
        except WrongType as e:
            bad.append(BadEntry(position, f"JSON Feed item {position}: {e}", entry_excerpt(item)))
    return ParsedFeed(title, entries, None, bad_entries=tuple(bad))


def _author_names(authors: list[dict]) -> tuple[str, ...]:
    """Authors' names; one with no name (a url, an avatar) is left out."""
    names = [a.get("name") for a in authors]
    odd = [n for n in names if n is not None and not isinstance(n, str)]
    if odd:
        raise WrongType(f"'authors' holds a name that is {type_name(odd[0])}, expected a string")
    return tuple(n for n in names if n)


def json_feed_entry(item) -> FeedEntry:
    """One JSON Feed item, every field checked against the type jsonfeed.org gives it (``WrongType``)."""
    if not isinstance(item, dict):
        raise WrongType(f"the item is {type_name(item)}, expected an object")
    text = text_field(item, "content_text")
    html, summary = text_field(item, "content_html"), text_field(item, "summary")
    for name in ("image", "banner_image", "language"):
        text_field(item, name)
    author = item.get("author")
    if author is not None and not isinstance(author, dict):
        raise WrongType(f"'author' is {type_name(author)}, expected an object")
    authors = list_of(item, "authors", dict, "objects") or ([author] if author else [])
    tags = list_of(item, "tags", str, "strings")
    return FeedEntry(
        entry_id=text_field(item, "id", numbers=True),
        link=text_field(item, "url") or text_field(item, "external_url"),
        title=text_field(item, "title"),
        body_html=html or (f"<pre>{_escape(text)}</pre>" if text else "") or summary or "",
        published=text_field(item, "date_published") or text_field(item, "date_modified"),
        authors=_author_names(authors),
        categories=tuple(tags),
    )


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


def content_key(entry: FeedEntry) -> str:
    """A digest of what a reader sees of an entry (title, link, body), not of when it was updated."""
    text = "\x00".join((entry.title or "", entry.link or "", entry.body_html))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def entry_document(feed_url: str, feed_title: Optional[str], entry: FeedEntry, encoding: Optional[str] = None) -> RawDocument:
    """An entry as a raw document. Its id is the feed, the entry's guid (or link) and its content: feeds
    reuse guids and links for different stories, and the same entry re-read keeps its id."""
    url = canonical_url(entry.link)
    content = content_key(entry)
    return RawDocument(
        doc_id=document_id(feed_url, f"{entry.entry_id or url or ''}#{content}"),
        source_path=url or f"{feed_url}#{entry.entry_id or content}",
        format=Body.FEED,
        body=entry.body_html,
        url=url,
        title=entry.title,
        published=entry.published,
        source=feed_title,
        authors=entry.authors,
        feed_url=feed_url,
        entry_id=entry.entry_id,
        categories=entry.categories,
        encoding=encoding,
    )


def feed_records(
    feed_url: str, content: bytes, seen: frozenset[str] = frozenset(), content_type: Optional[str] = None
) -> tuple[list, FeedStatus]:
    """A feed's entries as raw documents (those not ``seen`` before), or one error; and its status row."""
    now = dt.datetime.now(dt.UTC)
    try:
        feed = parse_feed(content, content_type)
    except Exception as e:  # one feed's failure, foreseen (ValueError) or not, is that feed's error row
        reason = str(e) if isinstance(e, ValueError) else f"unexpected {type(e).__name__} while parsing: {e}"
        error = ErrorRecord.of(feed_url, READ, reason, content, feed_url=feed_url)
        return [error], FeedStatus(feed_url, "failed", now, error=reason)
    documents, bad_entries = [], list(feed.bad_entries)
    for entry in feed.entries:
        try:
            documents.append(entry_document(feed_url, feed.title, entry, feed.encoding))
        except Exception as e:  # a link urllib cannot split ("http://[x"), say
            reason = str(e) if isinstance(e, ValueError) else f"unexpected {type(e).__name__}: {e}"
            bad_entries.append(BadEntry(entry.position, f"feed entry {entry.position}: {reason}", entry.link or ""))
    new = [d for d in documents if not entry_keys(d.entry_id, d.url) & seen]
    errors = [
        ErrorRecord.of(f"{feed_url}#item-{bad.position}", READ, bad.reason, bad.excerpt, feed_url=feed_url)
        for bad in sorted(bad_entries, key=lambda bad: bad.position)
    ]
    entries = len(documents) + len(errors)
    status = FeedStatus(
        feed_url,
        "fetched",
        now,
        entries=entries,
        new_entries=len(new) + len(errors),
        title=feed.title,
        bozo_reason=feed.bozo_reason,
    )
    return new + errors, status
