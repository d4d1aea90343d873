"""Article tone: VADER's compound score in [-1, 1] for English text, None where no lexicon fits.

GDELT-like, not GDELT: GDELT's V2Tone is (positive - negative words) / words x 100 over its own
dictionaries; this is VADER's normalised compound score averaged over the article's sentences (VADER is
built for sentence-length text; one score over a whole article saturates towards +/-1). The lexicon ships
inside the ``vaderSentiment`` package: nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import re
from typing import Optional

from transforms.entities.tables import TONE_LANGUAGES

_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


@functools.lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def tone(text: str, language: Optional[str]) -> Optional[float]:
    """Mean VADER compound over the non-empty sentences; None for other languages or empty text."""
    if language not in TONE_LANGUAGES:
        return None
    sentences = [s for s in (part.strip() for part in _SENTENCES.split(text or "")) if s]
    if not sentences:
        return None
    scores = [_analyzer().polarity_scores(s)["compound"] for s in sentences]
    return round(sum(scores) / len(scores), 4)
