"""The parse stage's heuristic tables: how dates, bylines and mastheads look in a page flattened to text.
Kept apart from the logic that uses them (``dates``, ``text``), as trafilatura keeps its xpaths."""

from __future__ import annotations

import re

HEADER_LINES = 15  # a page dump's masthead, title, byline and dateline sit in its first lines

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
DATE_LINE_LABEL = re.compile(r"^(?:published|updated|posted|date|last updated)\s*(?:on)?\s*:?\s*", re.I)
EARLIEST_YEAR = 1990  # a parsed date before this is a misreading, not a news date

# htmldate settings: the original publication date (not the last update), with its time of day.
HTML_DATE_EXTRACTION = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}

# -------------------------------------------------------------------------------------------- bylines

_NAME_TOKEN = r"[A-Z][\w'\u2019.\-]*"
_PERSON = rf"{_NAME_TOKEN}(?:\s+(?:de|van|von|bin|al|el|da|di|le)?\s*{_NAME_TOKEN}){{1,3}}"
BYLINE = re.compile(
    rf"^(?:(?P<by>by)\s+)?(?P<names>{_PERSON}(?:\s*(?:,|and|&)\s*{_PERSON})*?)"
    rf"(?:\s*[,|\u2013\u2014-]\s*(?P<org>[A-Z][\w'\u2019&.\- ]{{1,60}}))?$",
    re.IGNORECASE,
)
BYLINE_NAME_SEPARATOR = re.compile(r"\s*(?:,|\band\b|&)\s*", re.I)
MAX_BYLINE_WORDS = 10

# ------------------------------------------------------------------------------------------- mastheads
# (a headline's length is every stage's: transforms.text.HEADLINE_WORDS)

MASTHEAD_WORDS = (1, 5)  # a site name above the title: this many capitalised words
