"""An HTML page's byline: the people who wrote it (not outlets, roles, dates or labels) and the agency
credited, from what the page declares (JSON-LD, author <meta>), else its byline markup, else trafilatura's
author string. The tables are in ``patterns``; docs/metadata.md has the measurements."""

from __future__ import annotations

import calendar
import re
from typing import Optional

from transforms.parse.headline import is_site_name
from transforms.parse.markup import element_text, json_ld_articles, ld_types, meta_values, squeeze, words
from transforms.parse.patterns import (
    AGENCIES,
    AGENCY_CREDIT,
    AUTHOR_HREF,
    AUTHOR_MARK,
    AUTHOR_META,
    AUTHOR_SEPARATOR,
    BYLINE_BLOCK_LEVELS,
    BYLINE_CHILDREN,
    MAX_NAME_WORDS,
    NAME_CREDENTIALS,
    NAME_LABELS,
    NOT_A_PERSON,
)


def byline_names(tree) -> list[str]:
    """Names in the page's byline markup: author links and author-marked elements after the first h1, the
    ones in the first one's block (``BYLINE_BLOCK_LEVELS`` up), not a sidebar's list further down."""
    h1 = next(tree.iter("h1"), None)
    inside_h1 = set(h1.iter()) if h1 is not None else set()
    after = h1 is None
    found = []
    for element in tree.iter("a", "span", "div", "p", "li", "h1"):
        if element is h1:
            after = True
            continue
        if not after or element in inside_h1 or len(element) > BYLINE_CHILDREN:
            continue
        marked = (
            "author" in (element.get("rel") or "")
            or element.get("itemprop") == "author"
            or (element.tag == "a" and AUTHOR_HREF.search(element.get("href") or ""))
            or AUTHOR_MARK.search(element.get("class") or "")
        )
        if not marked:
            continue
        text = element_text(element)
        if text and len(text.split()) <= MAX_NAME_WORDS + 2 and not any(c.isdigit() for c in text):
            found.append(element)
    if not found:
        return []
    block = found[0]
    for _ in range(BYLINE_BLOCK_LEVELS):
        block = block.getparent() if block.getparent() is not None else block
    names = [element_text(e) for e in found if e is block or _inside(e, block)]
    return list(dict.fromkeys(names))


def _inside(element, block) -> bool:
    return any(a is block for a in element.iterancestors())


def declared_authors(tree) -> list[str]:
    """Author strings the page declares: JSON-LD authors (people first), then the author <meta>."""
    people, organisations = [], []
    for obj in json_ld_articles(tree):
        author = obj.get("author") or obj.get("creator")
        for item in author if isinstance(author, list) else [author]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                (organisations if ld_types(item) & {"organization", "newsmediaorganization"} else people).append(item["name"])
            elif isinstance(item, str):
                people.append(item)
        if people:
            break
    metas = [m for m in meta_values(tree, AUTHOR_META) if not re.match(r"https?://|www\.|@", m)]
    return people + metas[:1] + organisations


def page_authors(tree, fallback: Optional[str], names: list[str], domain: Optional[str]) -> tuple[tuple[str, ...], Optional[str]]:
    """The byline's people and an agency: from what the page declares, else its byline markup, else
    trafilatura's author string (``fallback``); the first of these that names a person."""
    agency = None
    for source in (declared_authors, byline_names, lambda _: [fallback] if fallback else []):
        people, credited = clean_authors(source(tree), names, domain)
        agency = agency or credited
        if people:
            return people, agency
    return (), agency


def split_names(text: str) -> list[str]:
    """An author field's entries: split on commas and "and" (in several languages); a credential after a
    comma ("Name, Ph.D.") stays with its name, then is taken off."""
    text = re.sub(r"^\s*(?:by|von|par|por|di|da|door|av|af|автор|текст)\s*:?\s+", "", squeeze(text), flags=re.I)
    text = NAME_LABELS.sub("", text)
    parts = [p for p in AUTHOR_SEPARATOR.split(text) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        if out and NAME_CREDENTIALS.fullmatch(" " + part.strip()):
            continue
        out.append(NAME_LABELS.sub("", NAME_CREDENTIALS.sub("", part)).strip(" .,:;-|"))
    return [p for p in out if p]


def person_or_agency(name: str, names: list[str], domain: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(a person's name, None), (None, an agency) or (None, None) for an outlet, a role, a date or a label."""
    key = " ".join(words(name))
    if key in AGENCIES:
        return None, AGENCIES[key]
    if (
        not key
        or any(c.isdigit() for c in name)
        or len(name.split()) > MAX_NAME_WORDS
        or NOT_A_PERSON.search(name)
        or is_site_name(name, names, domain)
        or re.search(r"https?://|www\.|@", name)
        or _is_month(key)
    ):
        return None, None
    return name, None


def _is_month(key: str) -> bool:
    months = {m.casefold() for m in calendar.month_name[1:] + calendar.month_abbr[1:]}
    return any(w in months for w in key.split()) and len(key.split()) <= 2


def clean_authors(values: list[str], names: list[str], domain: Optional[str]) -> tuple[tuple[str, ...], Optional[str]]:
    """People (in order, once each) and the first agency credited among the author strings."""
    people: list[str] = []
    agency = None
    for value in values:
        credit = AGENCY_CREDIT.search(value)
        if credit:
            found = credit.group("agency") or credit.group("via")
            if " ".join(words(found)) in AGENCIES:
                agency = agency or AGENCIES[" ".join(words(found))]
                value = value[: credit.start()] + value[credit.end() :]
        for name in split_names(value):
            person, credited = person_or_agency(name, names, domain)
            agency = agency or credited
            if person and person.casefold() not in {p.casefold() for p in people}:
                people.append(person)
    return tuple(people), agency
