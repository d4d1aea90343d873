"""Dates as news gives them -> aware UTC datetimes."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from dateutil import parser as dateparser

from transforms.parse.patterns import DATE_LINE_LABEL, DATE_PATTERN, EARLIEST_YEAR


def parse_datetime(value: str | None) -> Optional[dt.datetime]:
    """Any date string -> aware UTC datetime; a date without a zone is taken as UTC. None if unusable."""
    if not value or not value.strip():
        return None
    try:
        parsed = dateparser.parse(value.strip(), default=dt.datetime(1970, 1, 1))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        parsed = parsed.astimezone(dt.UTC)  # ValueError for an offset of 24 h or more (+25:00): no such zone
    except (ValueError, OverflowError):
        return None
    return parsed if EARLIEST_YEAR <= parsed.year <= dt.date.today().year + 1 else None


def find_date(lines: list[str]) -> Optional[dt.datetime]:
    """A line that is only a date (a dateline) wins; else the first date inside a header line (a caption)."""
    for line in lines:
        bare = DATE_LINE_LABEL.sub("", line).strip()
        match = DATE_PATTERN.fullmatch(bare)
        if match and (when := parse_datetime(match.group(0))):
            return when
    for line in lines:
        for match in DATE_PATTERN.finditer(line):
            if when := parse_datetime(match.group(0)):
                return when
    return None
