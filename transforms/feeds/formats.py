"""Feed formats: RSS 0.9x/1.0/2.0, Atom and RDF (feedparser) and JSON Feed -> one ``RawDocument`` per entry.

Ill-formed ("bozo") feeds still give their entries, and the reason is kept in the ``feeds`` table. A feed
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
from typing import Optional

from transforms.decode import feed_as_utf8
from transforms.schema import READ, ErrorRecord, FeedStatus, RawDocument, document_id
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


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    title: Optional[str]
    entries: list[FeedEntry]
    bozo_reason: Optional[str]
    encoding: Optional[str] = None


def refuse_entity_declarations(content: bytes) -> None:
    if _ENTITY_DECLARATION.search(content):
        raise ValueError("refused: the feed declares XML entities (entity-expansion bomb protection)")


def _iso(struct) -> Optional[str]:
    if not struct:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(struct), dt.timezone.utc).isoformat()


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
    return ParsedFeed(parsed.feed.get("title") or None, entries, bozo, encoding)


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
        encoding=encoding,
    )


def feed_records(
    feed_url: str, content: bytes, seen: frozenset[str] = frozenset(), content_type: Optional[str] = None
) -> tuple[list, FeedStatus]:
    """A feed's entries as raw documents (those not ``seen`` before), or one error; and its status row."""
    now = dt.datetime.now(dt.timezone.utc)
    try:
        feed = parse_feed(content, content_type)
    except ValueError as e:
        error = ErrorRecord.of(feed_url, READ, str(e), content, feed_url=feed_url)
        return [error], FeedStatus(feed_url, "failed", now, error=str(e))
    documents = [entry_document(feed_url, feed.title, e, feed.encoding) for e in feed.entries]
    new = [d for d in documents if not entry_keys(d.entry_id, d.url) & seen]
    status = FeedStatus(
        feed_url, "fetched", now, entries=len(documents), new_entries=len(new), title=feed.title, bozo_reason=feed.bozo_reason
    )
    return new, status
