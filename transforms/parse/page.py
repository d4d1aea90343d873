"""An HTML page's own metadata, read where publishers state it: the headline (the page's h1, agreed by its
meta titles), the site's name, the byline's people (not outlets, roles, dates; an agency apart) and the
publication time with where it came from. trafilatura's metadata is the fallback for each; the tables are in
``patterns`` and docs/metadata.md has the measurements."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Optional

from transforms.parse.dates import read_dateline
from transforms.parse.patterns import (
    AGENCIES,
    AGENCY_CREDIT,
    ARTICLE_TYPES,
    AUTHOR_HREF,
    AUTHOR_MARK,
    AUTHOR_META,
    AUTHOR_SEPARATOR,
    BYLINE_BLOCK_LEVELS,
    BYLINE_CHILDREN,
    H1_SECTION_WORDS,
    MAX_NAME_WORDS,
    NAME_CREDENTIALS,
    NAME_LABELS,
    NOT_A_PERSON,
    PRINTED_DATE_NODES,
    PRINTED_LINE_CHARS,
    PRINTED_TIME_SLACK_MINUTES,
    PUBLISHED_META,
    SITE_NAME_META,
    TIME_OF_DAY,
    TITLE_SEPARATOR,
    TITLE_SITE_WORDS,
    UPDATE_LABEL,
    URL_DATES,
    UTC_OFFSETS_MINUTES,
)

_WORD = re.compile(r"\w+")


def squeeze(text: Optional[str]) -> str:
    return " ".join((text or "").split())


def words(text: Optional[str]) -> list[str]:
    return _WORD.findall((text or "").casefold())


def alnum(text: Optional[str]) -> str:
    return "".join(words(text))


# ------------------------------------------------------------------------------------------ the page


def meta_values(tree, names: tuple[str, ...]) -> list[str]:
    """The non-empty contents of <meta> elements named (property, name or itemprop) as ``names``, in that
    order of names."""
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().casefold()
        content = squeeze(meta.get("content") or meta.get("datetime"))
        if key in names and content:
            found.setdefault(key, []).append(content)
    return [value for name in names for value in found.get(name, ())]


def json_ld_articles(tree) -> list[dict]:
    """The JSON-LD objects of the page that describe an article (``ARTICLE_TYPES``), outermost first."""
    out = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().casefold() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:  # a page's broken JSON-LD is common: skip it
            continue
        out.extend(obj for obj in _objects(data) if _types(obj) & ARTICLE_TYPES)
    return sorted(out, key=lambda obj: "webpage" in _types(obj))  # an article before the page around it


def _objects(data, depth: int = 0) -> Iterator[dict]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), (list, dict)):
                yield from _objects(data[key], depth + 1)


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type") or ()
    return {str(k).casefold() for k in ([kind] if isinstance(kind, str) else kind)}


# ----------------------------------------------------------------------------------------- site names


def site_names(tree, url: Optional[str], sitename: Optional[str]) -> list[str]:
    """What the site calls itself (og:site_name and kin, trafilatura's sitename, JSON-LD publisher)."""
    names = [n.lstrip("@") for n in meta_values(tree, SITE_NAME_META)]
    for obj in json_ld_articles(tree):
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.append(publisher["name"])
    if sitename:
        names.append(sitename)
    return [squeeze(n) for n in names if squeeze(n)]


def registered_domain(url: Optional[str]) -> Optional[str]:
    """The URL's registered domain ("bbc.co.uk" for https://www.bbc.co.uk/news/...), or None."""
    if not url:
        return None
    from tld import get_fld

    try:
        return get_fld(url, fail_silently=True, fix_protocol=True)
    except Exception:  # tld raises its own errors on hosts it cannot read
        return None


def is_site_name(segment: str, names: list[str], domain: Optional[str]) -> bool:
    """A title segment that names the site: one of its names, or its domain's label, run together."""
    key = alnum(segment)
    if not key:
        return False
    keys = {alnum(n) for n in names}
    if domain:
        label = domain.split(".")[0]
        keys |= {alnum(label), alnum(domain)}
    return any(key == k or (len(k) > 3 and (key.startswith(k) or k.startswith(key) and len(key) > 3)) for k in keys if k)


def strip_site(title: str, names: list[str], domain: Optional[str]) -> str:
    """A <title> or og:title without the site's name at either end ("Headline | Section | Site")."""
    parts = TITLE_SEPARATOR.split(title)
    seps = TITLE_SEPARATOR.findall(title)
    if len(parts) < 2:
        return title
    start, end = 0, len(parts)
    while end - start > 1 and len(parts[end - 1].split()) <= TITLE_SITE_WORDS and is_site_name(parts[end - 1], names, domain):
        end -= 1
        # a section before the site ("Headline | Opinion | The Harvard Crimson"): short, after a " | "
        if end - start > 1 and "|" in seps[end - 1] and len(parts[end - 1].split()) <= 2:
            end -= 1
    while end - start > 1 and len(parts[start].split()) <= TITLE_SITE_WORDS and is_site_name(parts[start], names, domain):
        start += 1
    kept = parts[start]
    for i in range(start + 1, end):
        kept += seps[i - 1] + parts[i]
    return kept.strip()


# ----------------------------------------------------------------------------------------- the title


def element_text(element) -> str:
    return squeeze("".join(element.itertext()))


def overlap(a: str, b: str) -> float:
    """Word-set Jaccard similarity of two titles."""
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def page_title(tree, names: list[str], domain: Optional[str], fallback: Optional[str]) -> Optional[str]:
    """The page's own headline: of its h1 elements, the one its meta titles agree with most (the first
    with two words or more when none agrees); a meta title inside that h1 when the h1 only adds a section
    label before it. Without an h1: the JSON-LD headline, og:title or <title>, the site's name taken off."""
    metas = [
        strip_site(squeeze(t), names, domain)
        for t in (
            [obj.get("headline") for obj in json_ld_articles(tree) if isinstance(obj.get("headline"), str)]
            + meta_values(tree, ("og:title", "twitter:title"))
            + [element_text(e) for e in tree.iter("title")][:1]
            + ([fallback] if fallback else [])
        )
        if squeeze(t)
    ]
    metas = [m for m in metas if m]
    h1s = [text for text in (element_text(e) for e in tree.iter("h1")) if len(words(text)) >= 1]
    best = None
    if h1s:
        scored = [(max((overlap(h, m) for m in metas), default=0.0), -i, h) for i, h in enumerate(h1s)]
        score, _, best = max(scored)
        if score == 0.0:
            best = next((h for h in h1s if len(words(h)) >= 2), None)
    if best is None:
        return metas[0] if metas else None
    key = " ".join(words(best))
    for meta in metas:
        inner = " ".join(words(meta))
        extra = len(key.split()) - len(inner.split())
        if len(inner.split()) >= 3 and 0 < extra <= H1_SECTION_WORDS and key.endswith(inner):
            return meta
    return best


# ----------------------------------------------------------------------------------------- authors


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
                (organisations if _types(item) & {"organization", "newsmediaorganization"} else people).append(item["name"])
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


# ------------------------------------------------------------------------------------------- dates


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


def printed_time(tree, not_after: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """The date and time of day the page prints for its readers, as on the page's clock (naive): the first
    dateline among the text after its h1 (``PRINTED_DATE_NODES`` nodes) that has a time of day and is not
    an update's. None when the page prints no such line (or only a day)."""
    h1 = next(tree.iter("h1"), None)
    if h1 is None:
        return None
    seen = 0
    for element in _after(tree, h1):
        for text in (element.text, element.tail):
            line = squeeze(text)
            if not line or len(line) > PRINTED_LINE_CHARS:
                continue
            seen += 1
            if seen > PRINTED_DATE_NODES:
                return None
            if UPDATE_LABEL.search(line) or not (day := read_dateline(line, not_after)):
                continue
            clock = TIME_OF_DAY.search(line)
            if clock is None:
                return None  # the first dateline prints a day only: no offset to read
            hour, minute, half = int(clock.group(1)), int(clock.group(2)), (clock.group(3) or "").casefold()
            hour = hour % 12 + 12 if half == "p" else hour % 12 if half == "a" else hour
            return dt.datetime.combine(day.date(), dt.time(hour, minute))
    return None


def _after(tree, h1) -> Iterator:
    """The elements after the h1 in document order (its own text and what follows), no scripts or styles."""
    after = False
    for element in tree.iter():
        if element is h1:
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
