"""Parse: ``RawDocument`` -> ``Article`` with main text and metadata.

HTML goes through trafilatura (main-content extraction and metadata); the page's own metadata wins over
what came with it (JSONL fields, the feed entry). A feed entry without its page is rendered to text as
it is. Plain-text page dumps keep their whole text (the clean stage removes the boilerplate); from
their first lines we read what a scraper flattened into text: the site name, the title (often printed
twice), a byline and a date; metadata given with a dump wins over these guesses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from typing import Optional

import apache_beam as beam
from dateutil import parser as dateparser

from transforms.schema import PARSE, Article, ErrorRecord, RawDocument
from transforms.stage import ApplyOrRecordError, SplitByType
from transforms.urls import canonical_url

HEADER_LINES = 15  # a page dump's masthead, title, byline and dateline sit in its first lines
MIN_TEXT_WORDS = 5


@dataclasses.dataclass(frozen=True)
class HtmlOptions:
    """trafilatura settings. Measured on the 90-page dev set (bench/extraction_eval.py): F1 0.950 with
    its defaults, 0.963 with precision favoured and comments left out."""

    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True


# ---------------------------------------------------------------------------------------------- dates

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)"
DATE_PATTERN = re.compile(
    rf"\b{_WEEKDAY}?(?:"
    rf"{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # June 23, 2021 / Nov 08, 2025
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+\d{{4}}"  # 23 June 2021
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO 8601
    r")(?:\s+(?:at\s+)?\d{1,2}:\d{2}(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s+(?:UTC|GMT))?)?",
    re.IGNORECASE,
)
_DATE_LINE_LABEL = re.compile(r"^(?:published|updated|posted|date|last updated)\s*(?:on)?\s*:?\s*", re.I)


def parse_datetime(value: str | None) -> Optional[dt.datetime]:
    """Any date string -> aware UTC datetime; a date without a zone is taken as UTC. None if unusable."""
    if not value or not value.strip():
        return None
    try:
        parsed = dateparser.parse(value.strip(), default=dt.datetime(1970, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    parsed = parsed.astimezone(dt.timezone.utc)
    return parsed if 1990 <= parsed.year <= dt.date.today().year + 1 else None


def find_date(lines: list[str]) -> Optional[dt.datetime]:
    """A line that is only a date (a dateline) wins; else the first date inside a header line (a caption)."""
    for line in lines:
        bare = _DATE_LINE_LABEL.sub("", line).strip()
        match = DATE_PATTERN.fullmatch(bare)
        if match and (when := parse_datetime(match.group(0))):
            return when
    for line in lines:
        for match in DATE_PATTERN.finditer(line):
            if when := parse_datetime(match.group(0)):
                return when
    return None


# --------------------------------------------------------------------------------- plain-text header

_SENTENCE_END = tuple('.!?"\u201d\u2019\')')
_BULLET = re.compile(r"^\s*[\u2022\u00b7\u25aa\u25cf\u2013\-*>|]\s*")
_NAME_TOKEN = r"[A-Z][\w'\u2019.\-]*"
_PERSON = rf"{_NAME_TOKEN}(?:\s+(?:de|van|von|bin|al|el|da|di|le)?\s*{_NAME_TOKEN}){{1,3}}"
BYLINE = re.compile(
    rf"^(?:(?P<by>by)\s+)?(?P<names>{_PERSON}(?:\s*(?:,|and|&)\s*{_PERSON})*?)"
    rf"(?:\s*[,|\u2013\u2014-]\s*(?P<org>[A-Z][\w'\u2019&.\- ]{{1,60}}))?$",
    re.IGNORECASE,
)


def normalise_key(line: str) -> str:
    """Lines compared for repetition by their words only: case, punctuation and spacing differ in dumps."""
    return " ".join(re.findall(r"\w+", line.lower()))


def is_headline(line: str) -> bool:
    words = line.split()
    return 3 <= len(words) <= 30 and not line.endswith(".") and not DATE_PATTERN.fullmatch(line)


def find_title(lines: list[str]) -> tuple[Optional[str], int]:
    """The title and its first line index: a headline printed twice near the top, else the first headline."""
    counts = Counter(normalise_key(line) for line in lines)
    for i, line in enumerate(lines):
        if is_headline(line) and counts[normalise_key(line)] > 1:
            return line, i
    for i, line in enumerate(lines):
        if is_headline(line) and not _BULLET.match(line):
            return line, i
    return None, -1


def find_site_name(lines: list[str], title_index: int) -> Optional[str]:
    """A masthead: a short capitalised line above the title that is not part of a menu."""
    for i in range(max(title_index, 0)):
        line = lines[i]
        words = line.split()
        neighbours = lines[max(i - 1, 0) : i] + lines[i + 1 : i + 2]
        if (
            1 <= len(words) <= 5
            and all(w[0].isupper() or not w[0].isalpha() for w in words)
            and any(c.isalpha() for c in line)
            and not DATE_PATTERN.search(line)
            and not any(_BULLET.match(n) for n in neighbours)
        ):
            return line
    return None


def find_byline(lines: list[str], start: int) -> tuple[tuple[str, ...], Optional[str]]:
    """Authors and the outlet from a byline such as "Rawad Taha, Al Arabiya English" or "By A and B"."""
    for line in lines[max(start, 0) :]:
        if len(line.split()) > 10 or line.endswith(_SENTENCE_END[:3]):
            continue
        match = BYLINE.match(line)
        if match and (match.group("by") or match.group("org")):
            names = re.split(r"\s*(?:,|\band\b|&)\s*", match.group("names"), flags=re.I)
            return tuple(n for n in names if n), match.group("org")
    return (), None


def parse_text(raw: RawDocument) -> Article:
    lines = [line.strip() for line in raw.body.splitlines() if line.strip()]
    header = lines[:HEADER_LINES]
    title, title_index = find_title(header)
    authors, outlet = find_byline(header, title_index + 1) if title_index >= 0 else ((), None)
    published = parse_datetime(raw.published) or find_date(header)
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(raw.url),
        source=raw.source or outlet or find_site_name(header, title_index),
        title=raw.title or title,
        authors=raw.authors or authors,
        published_at=published,
        language=None,
        text=raw.body,
        input_format="text",
    )


# ---------------------------------------------------------------------------------------------- html

# htmldate settings: the original publication date (not the last update), with its time of day.
DATE_EXTRACTION = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def parse_html(raw: RawDocument, options: HtmlOptions = HtmlOptions()) -> Article:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        raw.body,
        url=raw.url,
        with_metadata=True,
        favor_precision=options.favor_precision,
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        date_extraction_params=DATE_EXTRACTION,
    )
    if extracted is None or not (extracted.text or "").strip():
        raise ValueError("no main text found in the HTML (empty, broken or not an article page)")
    authors = tuple(a.strip() for a in re.split(r";|\band\b", extracted.author or "") if a.strip())
    # A page knows itself best (its canonical link, its own byline); what came with it is the fallback.
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(extracted.url or raw.url),
        source=extracted.sitename or raw.source or extracted.hostname,
        title=extracted.title or raw.title,
        authors=authors or raw.authors,
        published_at=parse_datetime(extracted.date) or parse_datetime(raw.published),
        language=extracted.language,
        text=extracted.text,
        input_format="html",
        feed_url=raw.feed_url,
        entry_id=raw.entry_id,
        categories=raw.categories,
    )


def parse_feed_entry(raw: RawDocument) -> Article:
    """A feed entry's content is the article already (no page around it): render its HTML to text."""
    from inscriptis import get_text

    if not raw.body.strip():
        raise ValueError("feed entry has no content or summary")
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(raw.url),
        source=raw.source,
        title=raw.title,
        authors=raw.authors,
        published_at=parse_datetime(raw.published),
        language=None,
        text=get_text(raw.body),
        input_format="feed",
        feed_url=raw.feed_url,
        entry_id=raw.entry_id,
        categories=raw.categories,
    )


def parse_document(raw: RawDocument, options: HtmlOptions = HtmlOptions()) -> Article:
    if raw.format == "html":
        article = parse_html(raw, options)
    elif raw.format == "feed":
        article = parse_feed_entry(raw)
    else:
        article = parse_text(raw)
    if len(article.text.split()) < MIN_TEXT_WORDS:
        raise ValueError(f"fewer than {MIN_TEXT_WORDS} words of text")
    return article


class ParseDocuments(beam.PTransform):
    """Raw documents -> articles with text and metadata; outputs ``articles`` and ``errors``."""

    def __init__(self, options: HtmlOptions = HtmlOptions()):
        super().__init__()
        self.options = options

    def expand(self, documents):
        return (
            documents
            | "Parse" >> beam.ParDo(ApplyOrRecordError(parse_document, PARSE, self.options))
            | "ByType" >> SplitByType(articles=Article, errors=ErrorRecord)
        )
