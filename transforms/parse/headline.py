"""An HTML page's headline: what the site calls itself (taken off its titles), the page's own title (its h1,
agreed by its meta titles) and the headline element (where its printed dateline follows). trafilatura's
title and sitename are the fallbacks; the tables are in ``patterns``, docs/metadata.md has the measurements."""

from __future__ import annotations

from typing import Optional

from transforms.parse.markup import alnum, element_text, json_ld_articles, meta_values, squeeze, words
from transforms.parse.patterns import H1_SECTION_WORDS, HEADLINE_OVERLAP, SITE_NAME_META, TITLE_SEPARATOR, TITLE_SITE_WORDS


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
    own = {alnum(n) for n in names} | ({alnum(domain), alnum(domain.split(".")[0])} if domain else set())
    metas = [m for m in metas if m and alnum(m) not in own]  # a twitter:title that is the site's name alone
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


def headline(tree, title: Optional[str] = None):
    """The page's headline element: the first h1 that is the page's title (``HEADLINE_OVERLAP``: not a logo's
    h1), else the first h2 or h3 that is (a page that sets its headline in an h2), else its first h1."""
    if title:
        for tags in (("h1",), ("h2", "h3")):
            found = next((h for h in tree.iter(*tags) if overlap(element_text(h), title) >= HEADLINE_OVERLAP), None)
            if found is not None:
                return found
    return next(tree.iter("h1"), None)
