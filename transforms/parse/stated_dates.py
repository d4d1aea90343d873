"""The dates an HTML page states: its publication time in JSON-LD, <meta> and <time pubdate>, the day its
URL carries, and the datelines printed under its headline for its readers (the day, the time of day and the
publisher's offset they imply). The tables are in ``patterns``; docs/metadata.md has the measurements."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Optional

from transforms.parse.dates import read_dateline
from transforms.parse.markup import json_ld_articles, meta_values, squeeze
from transforms.parse.patterns import (
    NUMERIC_DATE,
    PRINTED_DATE_NODES,
    PRINTED_LINE_CHARS,
    PRINTED_TIME_SLACK_MINUTES,
    PUBLISHED_META,
    TIME_OF_DAY,
    UPDATE_LABEL,
    URL_DATES,
    UTC_OFFSETS_MINUTES,
)


def meta_dates(tree) -> list[str]:
    """Publication times the page states: the article's JSON-LD datePublished, then <meta> tags, then <time
    pubdate> (``PUBLISHED_META`` order)."""
    found = [obj["datePublished"] for obj in json_ld_articles(tree) if isinstance(obj.get("datePublished"), str)]
    found += meta_values(tree, PUBLISHED_META)
    found += [t.get("datetime") for t in tree.iter("time") if t.get("pubdate") is not None and t.get("datetime")]
    return found


def url_date(url: Optional[str]) -> Optional[dt.datetime]:
    """The day a URL's path carries (/2023/12/20/, /20231220/), as midnight UTC."""
    if not url:
        return None
    for pattern in URL_DATES:
        match = pattern.search(url)
        if match:
            month = match.group(2)
            month = int(month) if month.isdigit() else _MONTHS.get(month[:3].casefold())
            try:
                return dt.datetime(int(match.group(1)), month, int(match.group(3)), tzinfo=dt.UTC)
            except (TypeError, ValueError):
                continue
    return None


_MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_abbr) if name}


def printed_datelines(tree, head, not_after: Optional[dt.datetime] = None) -> Iterator[tuple[str, dt.datetime]]:
    """(line, its date) for each dateline among the short text nodes after the headline element ``head``
    (``PRINTED_DATE_NODES`` of them), in page order."""
    if head is None:
        return
    seen = 0
    for element in _after(tree, head):
        for text in (element.text, element.tail):
            line = squeeze(text)
            if not line or len(line) > PRINTED_LINE_CHARS:
                continue
            seen += 1
            if seen > PRINTED_DATE_NODES:
                return
            if day := read_dateline(line, not_after):
                yield line, day


def first_dateline(tree, head, not_after: Optional[dt.datetime] = None) -> Optional[tuple[str, dt.datetime]]:
    """(line, its date) of the first dateline under the headline element ``head`` that is not an update's
    ("Updated …"): what the page prints for its readers. None if it prints none (or has no headline)."""
    return next(((line, day) for line, day in printed_datelines(tree, head, not_after) if not UPDATE_LABEL.search(line)), None)


def printed_date(dateline: Optional[tuple[str, dt.datetime]]) -> Optional[dt.datetime]:
    """The day a page's ``first_dateline`` prints (midnight UTC), when it reads one way only
    (``ambiguous_numeric``)."""
    if dateline is None or ambiguous_numeric(dateline[0]):
        return None
    return dt.datetime.combine(dateline[1].date(), dt.time(0), tzinfo=dt.UTC)


def ambiguous_numeric(line: str) -> bool:
    """A date written in numbers alone whose day and month could swap ("05/12/2020": 5 December or May 12)."""
    match = NUMERIC_DATE.search(line)
    return bool(match) and int(match.group(1)) <= 12 and int(match.group(2)) <= 12 and match.group(1) != match.group(2)


def printed_time(dateline: Optional[tuple[str, dt.datetime]]) -> Optional[dt.datetime]:
    """The date and time of day a page's ``first_dateline`` prints, as on the page's clock (naive); None when
    it prints a day only (no offset to read)."""
    if dateline is None or (clock := TIME_OF_DAY.search(dateline[0])) is None:
        return None
    hour, minute, half = int(clock.group(1)), int(clock.group(2)), (clock.group(3) or "").casefold()
    hour = hour % 12 + 12 if half == "p" else hour % 12 if half == "a" else hour
    return dt.datetime.combine(dateline[1].date(), dt.time(hour, minute))


def _after(tree, head) -> Iterator:
    """The elements after the headline in document order (its own text and what follows), no scripts or styles."""
    after = False
    for element in tree.iter():
        if element is head:
            after = True
        if after and isinstance(element.tag, str) and element.tag not in ("script", "style", "noscript", "template"):
            yield element


def printed_offset(when: dt.datetime, printed: Optional[dt.datetime]) -> Optional[dt.timezone]:
    """The publisher's offset that a printed time implies for an instant stated in UTC, or None when there
    is no printed time or the gap is no offset in use (``UTC_OFFSETS_MINUTES``: an update's or an event's
    time, not the publication's)."""
    if printed is None:
        return None
    instant = when.astimezone(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
    gap = round((printed - instant).total_seconds() / 60)
    near = [m for m in UTC_OFFSETS_MINUTES if m and abs(gap - m) <= PRINTED_TIME_SLACK_MINUTES]
    return dt.timezone(dt.timedelta(minutes=near[0])) if near else None
