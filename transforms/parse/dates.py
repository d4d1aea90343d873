"""Dates as news gives them -> aware UTC datetimes; which of a document's dates is its publication time.

A date after the document was fetched (or, not knowing that, after now) or before ``EARLIEST_YEAR`` is a
misreading (a JavaScript string, an event's date, a copyright year) and is not taken: the next source is
tried. In a page dump, a dateline is a short line of its own below the title: a date inside a sentence is a
photo caption's, and a date above the title is the masthead's day of printing, not the story's.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from typing import Optional

from dateutil import parser as dateutil_parser

from transforms.parse.patterns import (
    DATE_AFTER_FETCH_SLACK_HOURS,
    DATE_LINE_LABEL,
    DATE_PATTERN,
    DATELINE_CANDIDATE,
    DATELINE_LANGUAGES,
    DATELINE_NUMBERS,
    DATELINE_WORDS,
    DATEPARSER_SETTINGS,
    DOTTED_DATE,
    EARLIEST_YEAR,
    ZONE_ABBREVIATIONS,
)
from transforms.text import SCRIPT_RANGES, SENTENCE_END


def plausible(when: Optional[dt.datetime], not_after: Optional[dt.datetime] = None) -> bool:
    """A publication time that can be true: not before ``EARLIEST_YEAR``, not after the fetch (or now)."""
    if when is None:
        return False
    limit = (not_after or dt.datetime.now(dt.UTC)) + dt.timedelta(hours=DATE_AFTER_FETCH_SLACK_HOURS)
    return when.year >= EARLIEST_YEAR and when <= limit


def parse_datetime(value: str | None, not_after: Optional[dt.datetime] = None, own_offset: bool = False) -> Optional[dt.datetime]:
    """Any date string -> aware UTC datetime (with ``own_offset``, in the offset the string gives: the
    publisher's day); a date without a zone is taken as UTC, a zone's abbreviation read by
    ``ZONE_ABBREVIATIONS`` (EDT is -04:00, not UTC). None if unusable or not plausible."""
    if not value or not value.strip():
        return None
    try:
        parsed = dateutil_parser.parse(value.strip(), default=dt.datetime(1970, 1, 1), tzinfos=ZONE_ABBREVIATIONS)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        utc = parsed.astimezone(dt.UTC)  # ValueError for an offset of 24 h or more (+25:00): no such zone
    except (ValueError, OverflowError):
        return None
    if not plausible(utc, not_after):
        return None
    return parsed if own_offset else utc


def first_plausible(
    candidates: Iterable[tuple[str, object]], not_after: Optional[dt.datetime] = None
) -> tuple[Optional[dt.datetime], Optional[str]]:
    """The first (source, value) whose value (a string or a datetime) is a plausible date, with its source."""
    for source, value in candidates:
        when = value if isinstance(value, dt.datetime) or value is None else parse_datetime(str(value), not_after, True)
        if isinstance(when, dt.datetime) and plausible(when, not_after):
            return when, source
    return None, None


def read_dateline(line: str, not_after: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """The date of a dateline ("Published: 16 August 2021", "Опубликовано 12 марта 2021, 10:15",
    "2021年3月12日 10:15", "05.12.2020, 10:15": day first, as dotted dates are written), or None for a line
    that is not one: too long, a sentence, no date."""
    if len(line.split()) > DATELINE_WORDS + 4 or (SENTENCE_END.search(line) and len(line.split()) > DATELINE_WORDS):
        return None
    line = DOTTED_DATE.sub(lambda m: f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}", line)
    bare = DATE_LINE_LABEL.sub("", line).strip()
    match = DATE_PATTERN.search(bare)
    if (
        match
        and len(bare.split()) - len(match.group(0).split()) <= DATELINE_WORDS
        and (when := parse_datetime(match.group(0), not_after))
    ):
        return when
    if not DATELINE_CANDIDATE.search(line) or len(re.findall(r"\d+", line)) < DATELINE_NUMBERS:
        return None
    return _dateparser_date(line, not_after)


def script_of(line: str) -> str:
    """The first non-Latin script (``SCRIPT_RANGES``) among the line's letters, else "latin"."""
    for char in line:
        if char.isalpha() and ord(char) > 0x24F:
            for name, pattern in _SCRIPTS.items():
                if pattern.match(char):
                    return name
    return "latin"


_SCRIPTS = {name: re.compile(f"[{ranges}]") for name, ranges in SCRIPT_RANGES.items()}


@functools.cache
def _date_parser(script: str):
    """One dateparser parser per script, made on first use (loading its languages takes seconds)."""
    from dateparser.date import DateDataParser

    languages = DATELINE_LANGUAGES.get(script, DATELINE_LANGUAGES["latin"])
    return DateDataParser(languages=list(languages), settings=DATEPARSER_SETTINGS)


def _dateparser_date(line: str, not_after: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """dateparser (slow: only on a candidate line) from the line's first digit (past a label: "Опубликовано",
    "公開日："), then on the whole line."""
    for text in dict.fromkeys((line[re.search(r"\d", line).start() :], line)):
        parsed = _dateparser_parse(script_of(line), text.replace("|", " ").strip(" :-\u2013\u2014,"))
        if parsed is not None and plausible(parsed, not_after):
            return parsed
    return None


@functools.lru_cache(maxsize=4096)
def _dateparser_parse(script: str, text: str) -> Optional[dt.datetime]:
    """One reading, remembered: a site's dumps repeat their lines."""
    try:
        parsed = _date_parser(script).get_date_data(text).date_obj
    except (ValueError, OverflowError, TypeError):  # dateparser raises these on odd numbers
        return None
    if parsed is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def find_date(lines: list[str], not_after: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """The first dateline among ``lines`` (a page dump's lines below its title)."""
    for line in lines:
        if when := read_dateline(line, not_after):
            return when
    return None
