"""In-article alias resolution: a short mention points at the fullest name of the same entity."""

from __future__ import annotations

import re
from collections.abc import Sequence

from transforms.schema import Entity

_POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")
_LEADING_THE = re.compile(r"^the\s+", re.I)


def mention_name(text: str) -> str:
    """The name a mention stands for: spacing folded, possessive and leading "the" dropped."""
    name = " ".join(text.split())
    return _LEADING_THE.sub("", _POSSESSIVE.sub("", name)).strip()


def resolve_aliases(mentions: Sequence[tuple[str, str, int, int]]) -> list[Entity]:
    """Map each mention to the fullest name of the same entity seen earlier in the article.

    "Blinken" after "Antony Blinken" becomes ``canonical="Antony Blinken"``: a shorter name whose words
    run contiguously inside a longer name of the same label. A single word that is a person's first or
    last name is taken as that person whatever label the model gave it, since the sm model often calls
    a bare surname an ORG or GPE.
    """
    seen: list[tuple[list[str], str, str]] = []  # (words, name, label), in order of appearance
    entities = []
    for text, label, start, end in mentions:
        name = mention_name(text)
        words = name.split()
        canonical = name
        for full_words, full_name, full_label in seen:
            if len(full_words) <= len(words):
                continue
            same_label = full_label == label and _contains(full_words, words)
            surname = full_label == "PERSON" and len(words) == 1 and words[0] in (full_words[0], full_words[-1])
            if same_label or surname:
                canonical, label = full_name, full_label
                break
        seen.append((words, name, label))
        entities.append(Entity(text, label, start, end, canonical))
    return entities


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))
