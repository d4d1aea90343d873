"""The model's entities as an article's mentions: trimmed, one label per name, found wherever they recur.

The small model tags the same team or city ORG in one sentence and GPE in the next, and misses a name in
one sentence (most often a headline or dateline in capitals) that it found in another; within one article
the majority label and the names already found are better evidence than each guess alone. Per language
(the pipeline's), span edges the model gets wrong are fixed from tables: French "la Chine" is Chine,
"Canadiens" + "de" + "Montréal" one ORG (docs/entities.md).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Optional

from transforms.entities.aliases import mention_name, resolve_aliases
from transforms.entities.tables import (
    JOIN_ONLY_LABELS,
    JOINING_PARTICLES,
    KEPT_LABELS,
    LABEL_NAMES,
    LEADING_PARTICLES,
    LEADING_TITLES,
    NAMED_AFTER_PLACE,
    PLACE_LABELS,
    VOTED_LABELS,
)
from transforms.schema import Entity
from transforms.text import whole_word_spans

Mention = tuple[str, str, int, int]  # (text, label, start, end)


def mentions_of(doc) -> list[Mention]:
    """Kept-label entities under our label names, with surrounding whitespace trimmed off their offsets;
    in languages with edge rules (``tables.LEADING_PARTICLES``...), "NAME de PLACE" joined and leading
    articles and titles trimmed. The language is the pipeline's (``doc.lang_``)."""
    language = doc.lang_
    out = []
    for e in doc.ents:
        label = LABEL_NAMES.get(e.label_, e.label_)
        text = e.text.strip()
        if (label in KEPT_LABELS or label in JOIN_ONLY_LABELS) and text:
            start = e.start_char + e.text.index(text)
            out.append((text, label, start, start + len(text)))
    trimmed = (trim_edges(m, language) for m in out)
    joined = join_named_after_place(doc.text, [m for m in trimmed if m], language)
    return [m for m in joined if m[1] in KEPT_LABELS]


@cache
def _leading(words: tuple[str, ...]) -> re.Pattern:
    """Any of ``words`` at the start, then a space (none needed after an elided "l'")."""
    alternatives = sorted(words, key=len, reverse=True)
    return re.compile("^(?:" + "|".join(re.escape(w) + ("\\s*" if w[-1] in "'\u2019" else "\\s+") for w in alternatives) + ")")


def trim_edges(mention: Mention, language: str) -> Optional[Mention]:
    """The mention without leading articles or particles ("la Chine" -> "Chine") and, for a person, titles
    ("M. Macron" -> "Macron"); None when nothing of a name is left ("l'")."""
    text, label, start, end = mention
    words = LEADING_PARTICLES.get(language, ()) + (LEADING_TITLES.get(language, ()) if label == "PERSON" else ())
    if not words:
        return mention
    while match := _leading(words).match(text):
        if match.end() == len(text):
            return None
        text, start = text[match.end() :], start + match.end()
    if text.rstrip("'\u2019") in words or not any(ch.isalnum() for ch in text):
        return None
    return text, label, start, end


@cache
def _joining_gap(language: str) -> re.Pattern | None:
    """The particles that join a name to a place in ``language`` (``tables.JOINING_PARTICLES``), compiled once."""
    particles = JOINING_PARTICLES.get(language)
    if not particles:
        return None
    return re.compile("\\s+(?:" + "|".join(re.escape(p) for p in sorted(particles, key=len, reverse=True)) + ")\\s*")


def join_named_after_place(text: str, mentions: Sequence[Mention], language: str) -> list[Mention]:
    """ "Canadiens de Montréal": a NAME (``tables.NAMED_AFTER_PLACE`` labels) joined by a particle to the
    PLACE that follows it is one ORG; other mentions pass as they are."""
    gap = _joining_gap(language)
    if gap is None:
        return list(mentions)
    ordered, out, i = sorted(mentions, key=lambda m: m[2]), [], 0
    while i < len(ordered):
        name, label, start, end = ordered[i]
        if i + 1 < len(ordered) and label in NAMED_AFTER_PLACE and ordered[i + 1][1] in PLACE_LABELS:
            _, _, place_start, place_end = ordered[i + 1]
            if place_start > end and gap.fullmatch(text, end, place_start):
                out.append((text[start:place_end], "ORG", start, place_end))
                i += 2
                continue
        out.append((name, label, start, end))
        i += 1
    return out


def vote_labels(mentions: Sequence[Mention]) -> list[Mention]:
    """Give every mention of a name its most frequent label in the article; on a tie each keeps its own."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for text, label, _, _ in mentions:
        if label in VOTED_LABELS:
            votes[mention_name(text)][label] += 1
    out = []
    for text, label, start, end in mentions:
        counts = votes.get(mention_name(text))
        if label in VOTED_LABELS and counts:
            best = max(counts.values())
            label = label if counts[label] == best else next(k for k, v in counts.items() if v == best)
        out.append((text, label, start, end))
    return out


def propagate(text: str, mentions: Sequence[Mention], taken: Sequence[tuple[int, int]]) -> list[Mention]:
    """Tag the article's other occurrences of names it already tagged, as written or in capitals.

    Only names of three or more characters that are not all lower case, and only outside every span
    already tagged (``taken``: the model's entities of any label).
    """
    taken_chars: set[int] = set()
    for start, end in taken:
        taken_chars.update(range(start, end))
    labels: dict[str, str] = {}
    for name, label, _, _ in mentions:
        if label in VOTED_LABELS and len(name) > 2 and not name.islower():
            labels.setdefault(name, label)
    added = []
    for name, label in labels.items():
        for variant in sorted({name, name.upper()}):
            for start, end in whole_word_spans(text, variant):
                span = range(start, end)
                if taken_chars.isdisjoint(span):
                    added.append((variant, label, start, end))
                    taken_chars.update(span)
    return sorted([*mentions, *added], key=lambda m: m[2])


def entities_of(doc) -> list[Entity]:
    """A tagged spaCy doc -> the article's entities: trimmed, voted, propagated, aliases resolved."""
    mentions = propagate(doc.text, vote_labels(mentions_of(doc)), [(e.start_char, e.end_char) for e in doc.ents])
    return resolve_aliases(mentions)
