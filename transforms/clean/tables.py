"""The boilerplate classifier's data: thresholds and line shapes, apart from the logic in ``boilerplate``."""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class BoilerplateSettings:
    """The classifier's thresholds (docs/extraction.md: how they were chosen)."""

    good_chars: int = 120  # a body paragraph: this long, ...
    good_stopwords: float = 0.30  # ... this many stop words, and ending like a sentence
    neargood_chars: int = 50
    neargood_stopwords: float = 0.20
    neargood_weight: float = 0.7  # score per character of a near-good paragraph (a good one scores 1)
    short_penalty: float = 25.0  # score of a short or unfinished line: -(penalty + weight * chars)
    short_weight: float = 0.5
    bad_penalty: float = 60.0  # repeats, list items and captions
    max_subheading_words: int = 15


CAPTION_CREDIT = re.compile(r"[.!?]\s*\([^()]{2,60}\)$")  # "... June 23, 2021. (Reuters photo)"

# Spaces a page dump spells in many ways; each run of them becomes one ASCII space.
ODD_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")

LANGUAGE_SAMPLE_CHARS = 5000  # enough text for a confident guess, cheap on long pages
MIN_LANGUAGE_PROBABILITY = 0.5
DEFAULT_LANGUAGE = "en"  # stop words when the language is unknown or has no list
