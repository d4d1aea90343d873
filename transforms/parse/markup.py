"""What an HTML page states about itself in markup: <meta> values and the JSON-LD objects that describe an
article, the text helpers the page's readers share (``headline``, ``byline``, ``stated_dates``), and a
photo or video story's caption (the description such a page states)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Optional

from transforms.parse.patterns import ARTICLE_TYPES, DESCRIPTION_META, STORY_OG_TYPE

_WORD = re.compile(r"\w+")


def squeeze(text: Optional[str]) -> str:
    return " ".join((text or "").split())


def words(text: Optional[str]) -> list[str]:
    return _WORD.findall((text or "").casefold())


def alnum(text: Optional[str]) -> str:
    return "".join(words(text))


def element_text(element) -> str:
    return squeeze("".join(element.itertext()))


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
        out.extend(obj for obj in _objects(data) if ld_types(obj) & ARTICLE_TYPES)
    return sorted(out, key=lambda obj: "webpage" in ld_types(obj))  # an article before the page around it


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


def ld_types(obj: dict) -> set[str]:
    kind = obj.get("@type") or ()
    return {str(k).casefold() for k in ([kind] if isinstance(kind, str) else kind)}


def story_summary(tree) -> Optional[str]:
    """The summary or caption of a page that says it is a story (og:type article or video, a JSON-LD article
    type other than a bare web page): the longest description it states. A photo or video story has no
    article text for the extractor, but its headline, time and caption are what an analyst filters and reads."""
    articles = [obj for obj in json_ld_articles(tree) if ld_types(obj) - {"webpage"}]
    og_type = next(iter(meta_values(tree, ("og:type",))), "")
    if not articles and not STORY_OG_TYPE.match(og_type):
        return None
    found = [squeeze(o["description"]) for o in articles if isinstance(o.get("description"), str)]
    found += meta_values(tree, DESCRIPTION_META)
    return max(found, key=len, default=None) or None
