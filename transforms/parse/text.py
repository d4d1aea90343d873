"""Plain-text page dumps: keep the whole text (the clean stage removes the boilerplate) and read from the
first lines what a scraper flattened into text: the site name, the title (often printed twice), a byline
and a dateline. Metadata given with a dump wins over these guesses; the outlet falls back on the URL's
registered domain."""

from __future__ import annotations

from collections import Counter
from typing import Optional

from transforms.parse.dates import find_date, parse_datetime
from transforms.parse.headline import registered_domain
from transforms.parse.patterns import (
    BYLINE,
    BYLINE_NAME_SEPARATOR,
    BYLINE_PREFIX,
    DATE_PATTERN,
    DUMP_HEADER_LINES,
    HEADER_LINES,
    MASTHEAD_WORDS,
    MAX_BYLINE_WORDS,
    MENU_SEPARATOR,
    MENU_SEPARATORS,
    PROSE_WORDS,
    TITLE_FOLLOWERS,
)
from transforms.schema import Article, Body, RawDocument
from transforms.text import HEADLINE_WORDS, LIST_ITEM, SENTENCE_END, line_key
from transforms.urls import canonical_url


def is_menu(line: str) -> bool:
    """A menu or section list flattened into one line ("Home | World | Business | Sport")."""
    return len(MENU_SEPARATOR.findall(f" {line} ")) >= MENU_SEPARATORS


def is_headline(line: str) -> bool:
    """A title's shape: HEADLINE_WORDS words, no final full stop, not a bare date, not a menu."""
    low, high = HEADLINE_WORDS
    return (
        low <= len(line.split()) <= high
        and not line.endswith(".")
        and not DATE_PATTERN.fullmatch(line)
        and not is_menu(line)
        and not LIST_ITEM.match(line)
    )


def is_prose(line: str) -> bool:
    return len(line.split()) >= PROSE_WORDS and bool(SENTENCE_END.search(line))


def opens_article(lines: list[str], i: int) -> bool:
    """A title is followed closely by what opens an article: a byline, a dateline or prose."""
    for line in lines[i + 1 : i + 1 + TITLE_FOLLOWERS]:
        if is_prose(line) or BYLINE_PREFIX.match(line) or DATE_PATTERN.search(line) or len(line.split()) >= PROSE_WORDS:
            return True
    return False


def find_title(lines: list[str]) -> tuple[Optional[str], int]:
    """The title and its line index: a headline printed twice near the top; else the first headline that
    opens an article (a byline, dateline or prose follows), never a menu line; else the first headline."""
    counts = Counter(line_key(line) for line in lines[:HEADER_LINES])
    for i, line in enumerate(lines[:HEADER_LINES]):
        if is_headline(line) and counts[line_key(line)] > 1:
            return line, i
    for i, line in enumerate(lines):
        if is_prose(line):
            break
        if is_headline(line) and opens_article(lines, i):
            return line, i
    for i, line in enumerate(lines[:HEADER_LINES]):
        if is_headline(line):
            return line, i
    return None, -1


def find_site_name(lines: list[str], title_index: int) -> Optional[str]:
    """A masthead: a short capitalised line above the title that is not part of a menu."""
    low, high = MASTHEAD_WORDS
    for i in range(max(min(title_index, HEADER_LINES), 0)):
        line = lines[i]
        words = line.split()
        neighbours = lines[max(i - 1, 0) : i] + lines[i + 1 : i + 2]
        if (
            low <= len(words) <= high
            and all(w[0].isupper() or not w[0].isalpha() for w in words)
            and any(c.isalpha() for c in line)
            and not DATE_PATTERN.search(line)
            and not any(LIST_ITEM.match(n) for n in neighbours)
            and not is_menu(line)
        ):
            return line
    return None


def find_byline(lines: list[str], start: int) -> tuple[tuple[str, ...], Optional[str]]:
    """Authors and the outlet from a byline such as "Rawad Taha, Al Arabiya English", "By A and B", or
    "By" on a line of its own above the name."""
    window = lines[max(start, 0) : max(start, 0) + HEADER_LINES]
    for i, line in enumerate(window):
        if BYLINE_PREFIX.fullmatch(line) and i + 1 < len(window):
            line = "By " + window[i + 1]
        elif BYLINE_PREFIX.match(line):
            line = "By " + BYLINE_PREFIX.sub("", line)
        if len(line.split()) > MAX_BYLINE_WORDS or SENTENCE_END.search(line):
            continue
        line = DATE_PATTERN.split(line)[0].strip(" |,\u2022-")
        match = BYLINE.match(line)
        if match and (match.group("by") or match.group("org")):
            names = BYLINE_NAME_SEPARATOR.split(match.group("names"))
            return tuple(n for n in names if n), match.group("org")
    return (), None


def parse_text(raw: RawDocument) -> Article:
    lines = [line.strip() for line in raw.body.splitlines() if line.strip()]
    header = lines[:DUMP_HEADER_LINES]
    title, title_index = find_title(header)
    authors, outlet = find_byline(header, title_index + 1) if title_index >= 0 else ((), None)
    # Below the title: a date above it is the masthead's day of printing, one in a sentence a caption's.
    below = header[title_index + 1 : title_index + 1 + HEADER_LINES] if title_index >= 0 else header[:HEADER_LINES]
    given = parse_datetime(raw.published, own_offset=True)
    published = given or find_date(below)
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(raw.url),
        source=raw.source or outlet or find_site_name(header, title_index) or registered_domain(raw.url),
        title=raw.title or title,
        authors=raw.authors or authors,
        published_at=published,
        published_source=("input" if given else "text") if published else None,
        language=None,
        text=raw.body,
        input_format=Body.TEXT,
        encoding=raw.encoding,
    )
