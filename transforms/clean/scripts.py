"""Script-aware prose features: length, sentence ends and stop-word share, for any script.

jusText-style classifiers count characters, split words on spaces and look for ". ! ?". That fails for
Chinese, Japanese and Thai (no spaces), CJK and Arabic sentence marks, and Korean, whose spaCy stop-word
list holds stems rather than words. Here each line gets its dominant script first and every feature
follows from it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Optional

from transforms.clean.language import stop_words
from transforms.clean.tables import DENSE_WEIGHT, KOREAN_JOSA, NO_SENTENCE_MARK, PROSE_UNITS
from transforms.text import SCRIPT_RANGES, SENTENCE_END, UNSPACED_SCRIPTS
from transforms.text import words as text_words

_SCRIPT_CHAR = {name: re.compile(f"[{ranges}]") for name, ranges in SCRIPT_RANGES.items()}
_ANY_SCRIPT = re.compile("[" + "".join(SCRIPT_RANGES.values()) + "]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_SCRIPT_LETTERS = {name: re.compile(f"(?=[^\\W\\d_])[{ranges}]") for name, ranges in SCRIPT_RANGES.items()}


def script_of(text: str) -> str:
    """The dominant script among the letters: a SCRIPT_RANGES key, or "latin" (any other letters)."""
    if text.isascii():
        return "latin"
    letters = len(_LETTER.findall(text))
    if not letters:
        return "latin"
    counts = Counter({name: len(pattern.findall(text)) for name, pattern in _SCRIPT_LETTERS.items()})
    counts["latin"] = letters - sum(counts.values())
    if counts["han"] and counts["kana"]:  # Japanese mixes kanji and kana
        counts["kana"] += counts.pop("han")
    return counts.most_common(1)[0][0]


def units(text: str, script: Optional[str] = None) -> float:
    """Length in Latin-equivalent characters: dense-script characters weigh DENSE_WEIGHT."""
    script = script or script_of(text)
    n = len(text.strip())
    if script in UNSPACED_SCRIPTS:
        dense = sum(1 for ch in text if _ANY_SCRIPT.match(ch) and not _SCRIPT_CHAR["hangul"].match(ch))
        return n + (DENSE_WEIGHT - 1.0) * dense
    return float(n)


def ends_sentence(line: str, script: Optional[str] = None, long_units: float = 100.0) -> bool:
    """A sentence mark at the end; for scripts without one (Thai), a long line counts as a sentence."""
    script = script or script_of(line)
    if SENTENCE_END.search(line):
        return True
    return script in NO_SENTENCE_MARK and units(line, script) >= long_units


@functools.cache
def _stop_pattern(language: str) -> Optional[re.Pattern]:
    """An alternation of the language's stop words, longest first, to find them in unspaced text."""
    words = sorted((w for w in stop_words(language) if _ANY_SCRIPT.search(w)), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None


def stopword_share(line: str, language: Optional[str], script: Optional[str] = None) -> float:
    """Share of the line that is function words: of tokens for spaced scripts, of characters for dense ones.

    Korean: share of words ending in a particle. Dense scripts without a list: share of kana (Japanese
    particles and inflections are kana), else 0.
    """
    script = script or script_of(line)
    if script in UNSPACED_SCRIPTS:
        body = "".join(ch for ch in line if _ANY_SCRIPT.match(ch))
        if not body:
            return 0.0
        pattern = _stop_pattern(language) if language else None
        if pattern is not None:
            return sum(len(m) for m in pattern.findall(body)) / len(body)
        return sum(1 for ch in body if _SCRIPT_CHAR["kana"].match(ch)) / len(body)
    words = text_words(line)
    if not words:
        return 0.0
    if script == "hangul":
        return sum(1 for w in words if KOREAN_JOSA.search(w)) / len(words)
    stops = stop_words(language)
    return sum(w in stops for w in words) / len(words)


def is_prose(line: str, min_units: float = PROSE_UNITS) -> bool:
    """A line that looks like body text before any language is known: long and ending like a sentence."""
    script = script_of(line)
    return units(line, script) >= min_units and ends_sentence(line, script)


def prose_lines(lines: list[str], min_units: float = PROSE_UNITS) -> list[str]:
    return [line for line in lines if is_prose(line, min_units)]
