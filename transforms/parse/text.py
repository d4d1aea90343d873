"""Plain-text page dumps: keep the whole text (the clean stage removes the boilerplate) and read from the
first lines what a scraper flattened into text: the site name, the title (often printed twice), a byline
and a date. Metadata given with a dump wins over these guesses."""

from __future__ import annotations

from collections import Counter
from typing import Optional

from transforms.parse.dates import find_date, parse_datetime
from transforms.parse.patterns import (
    BYLINE,
    BYLINE_NAME_SEPARATOR,
    DATE_PATTERN,
    HEADER_LINES,
    MASTHEAD_WORDS,
    MAX_BYLINE_WORDS,
)
from transforms.schema import Article, Body, RawDocument
from transforms.text import HEADLINE_WORDS, LIST_ITEM, SENTENCE_END, line_key
from transforms.urls import canonical_url


def is_headline(line: str) -> bool:
    """A title's shape: HEADLINE_WORDS words, no final full stop, not a bare date."""
    low, high = HEADLINE_WORDS
    return low <= len(line.split()) <= high and not line.endswith(".") and not DATE_PATTERN.fullmatch(line)


def find_title(lines: list[str]) -> tuple[Optional[str], int]:
    """The title and its first line index: a headline printed twice near the top, else the first headline."""
    counts = Counter(line_key(line) for line in lines)
    for i, line in enumerate(lines):
        if is_headline(line) and counts[line_key(line)] > 1:
            return line, i
    for i, line in enumerate(lines):
        if is_headline(line) and not LIST_ITEM.match(line):
            return line, i
    return None, -1


def find_site_name(lines: list[str], title_index: int) -> Optional[str]:
    """A masthead: a short capitalised line above the title that is not part of a menu."""
    low, high = MASTHEAD_WORDS
    for i in range(max(title_index, 0)):
        line = lines[i]
        words = line.split()
        neighbours = lines[max(i - 1, 0) : i] + lines[i + 1 : i + 2]
        if (
            low <= len(words) <= high
            and all(w[0].isupper() or not w[0].isalpha() for w in words)
            and any(c.isalpha() for c in line)
            and not DATE_PATTERN.search(line)
            and not any(LIST_ITEM.match(n) for n in neighbours)
        ):
            return line
    return None


def find_byline(lines: list[str], start: int) -> tuple[tuple[str, ...], Optional[str]]:
    """Authors and the outlet from a byline such as "Rawad Taha, Al Arabiya English" or "By A and B"."""
    for line in lines[max(start, 0) :]:
        if len(line.split()) > MAX_BYLINE_WORDS or SENTENCE_END.search(line):
            continue
        match = BYLINE.match(line)
        if match and (match.group("by") or match.group("org")):
            names = BYLINE_NAME_SEPARATOR.split(match.group("names"))
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
        input_format=Body.TEXT,
        encoding=raw.encoding,
    )
