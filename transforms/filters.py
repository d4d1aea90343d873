"""Filters a run applies to what it reads, each as early as its fact is known and each a counted skip
(never a silent drop): the URL's host when the document is read (``skipped_host``, stage read), the
publication date once parsed (``skipped_published``, stage parse), the language once detected
(``skipped_language``, stage clean). A month of CC-NEWS holds every site in every language; most runs want
a few.

A document without the fact passes: no URL passes an allow list, no date or no detected language passes
the date or language filter (it cannot be shown to be outside them); ``--hosts`` with only denials passes
what it does not deny.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from typing import Optional
from urllib.parse import urlsplit

from transforms.settings import option
from transforms.stage import Skip

HOST_SKIP, PUBLISHED_SKIP, LANGUAGE_SKIP = "host", "published", "language"
_HOST = re.compile(r"^-?(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _items(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


def host_rules(value: str) -> str:
    """``example.com,-ads.example.com``: hosts to keep, ``-`` before one to deny; checked, kept as given."""
    items = _items(value)
    bad = [item for item in items if not _HOST.match(item)]
    if bad or not items:
        raise ValueError(f"not a host name: {(bad or [value])[0]!r} (use e.g. example.com or -ads.example.com)")
    return ",".join(items)


def languages(value: str) -> str:
    items = _items(value)
    bad = [item for item in items if not _LANGUAGE.match(item)]
    if bad or not items:
        raise ValueError(f"not a language code: {(bad or [value])[0]!r} (use ISO 639-1 codes, e.g. en or en,fr)")
    return ",".join(items)


def date_bound(value: str) -> str:
    """An ISO 8601 date (a publisher's day, as ``published_date``) or date-time (an instant; UTC when no
    offset is given), kept as its ISO text."""
    if _is_day(value):
        return dt.date.fromisoformat(value.strip()).isoformat()
    return _as_datetime(value).isoformat()


def _is_day(value: str) -> bool:
    return len(value.strip()) == 10


def _as_datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use e.g. 2024-01-31 or 2024-01-31T12:00:00Z)") from None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class FilterSettings:
    hosts: Optional[list] = option(
        None,
        "keep only documents whose URL host is one of these or under it (example.com keeps www.example.com); "
        "-HOST denies one (and its subdomains); comma-separated or repeated; applied as documents are read",
        action="append",
        parse=host_rules,
    )
    languages: Optional[list] = option(
        None,
        "keep only articles in these languages (ISO 639-1 codes, comma-separated or repeated), as detected "
        "in the clean stage; articles of no detected language are kept",
        action="append",
        parse=languages,
    )
    published_after: Optional[str] = option(
        None,
        "keep only articles published on or after this day (the publisher's, as published_date) or at or after "
        "this time (ISO 8601, UTC when no offset); undated articles are kept",
        parse=date_bound,
    )
    published_before: Optional[str] = option(
        None,
        "keep only articles published before this day or time (as --published-after); undated articles are kept",
        parse=date_bound,
    )

    def check(self) -> None:
        after, before = self.published_after, self.published_before
        if after and before and _is_day(after) == _is_day(before) and after >= before:
            raise ValueError("--published-after must be earlier than --published-before")

    def host_skip(self, url: Optional[str]) -> Optional[Skip]:
        """A ``Skip`` when the URL's host is denied, or not allowed when there is an allow list."""
        if not self.hosts:
            return None
        allow, deny = _split_hosts(tuple(self.hosts))
        host = (urlsplit(url).hostname or "") if url else ""
        if any(_under(host, rule) for rule in deny) or (allow and not any(_under(host, rule) for rule in allow)):
            return Skip(HOST_SKIP)
        return None

    def published_skip(self, published: Optional[dt.datetime]) -> Optional[Skip]:
        """A day bound is compared with the publisher's day (what the ``published_date`` column and its
        folders hold), a time bound with the instant."""
        if published is None:
            return None
        after, before = self.published_after, self.published_before
        if after and _as_bound(published, after) < _bound(after):
            return Skip(PUBLISHED_SKIP)
        if before and _as_bound(published, before) >= _bound(before):
            return Skip(PUBLISHED_SKIP)
        return None

    def language_skip(self, language: Optional[str]) -> Optional[Skip]:
        wanted = {code for value in self.languages or () for code in value.split(",")}
        return Skip(LANGUAGE_SKIP) if wanted and language and language not in wanted else None


@functools.cache  # a run has two bounds; its articles each compare against them
def _bound(text: str) -> dt.date | dt.datetime:
    return dt.date.fromisoformat(text) if _is_day(text) else _as_datetime(text)


def _as_bound(published: dt.datetime, bound: str) -> dt.date | dt.datetime:
    """``published`` as ``bound`` reads it: its own day (in the offset it was stated in) or the instant."""
    return published.date() if _is_day(bound) else published


def _split_hosts(values: tuple[str, ...]) -> tuple[list[str], list[str]]:
    rules = [rule.removeprefix("*.").rstrip(".") for value in values for rule in value.split(",")]
    allow = [rule for rule in rules if not rule.startswith("-")]
    deny = [rule[1:].removeprefix("*.") for rule in rules if rule.startswith("-")]
    return allow, deny


def _under(host: str, rule: str) -> bool:
    """The host is the rule's host or a subdomain of it (a suffix match on whole labels)."""
    return host == rule or host.endswith("." + rule)


NO_FILTERS = FilterSettings()
