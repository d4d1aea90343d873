"""Text shapes every stage agrees on: what a word is, which scripts write words without spaces, when two
lines are the same line, what a list item, a headline and a sentence end look like, and how few words make
no article."""

from __future__ import annotations

import re
from typing import Optional

MIN_ARTICLE_WORDS = 5  # fewer words than this, after parsing or cleaning, is no article
HEADLINE_WORDS = (3, 30)  # a headline (a dump's title) has this many words
# A line a dump prints twice is taken for its headline (the body's anchor) with one word more: repeated
# three-word lines are mostly menu entries ("* Join our newsletter"; docs/extraction.md).
HEADLINE_ANCHOR_WORDS = (HEADLINE_WORDS[0] + 1, HEADLINE_WORDS[1])

WORD = re.compile(r"\w+")

# Unicode ranges per script family (the clean stage's features follow a line's dominant script).
SCRIPT_RANGES = {
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "thai": "\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f",  # Thai, Lao, Khmer, Myanmar
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u0dff",  # Devanagari and the other Brahmic scripts of India and Sri Lanka
    "cyrillic": "\u0400-\u04ff\u0500-\u052f",
    "greek": "\u0370-\u03ff",
}
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): each character counts
# as a word, as word counts in those languages do, and weighs more in a line's length (clean.tables.DENSE_WEIGHT).
UNSPACED_SCRIPTS = frozenset({"han", "kana", "thai"})
UNSPACED_CHAR = re.compile("[" + "".join(SCRIPT_RANGES[name] for name in sorted(UNSPACED_SCRIPTS)) + "]")

# A line ends like a sentence: Latin/Cyrillic . ! ? …, CJK 。！？, Arabic ؟ and ۔, Devanagari । ॥,
# Armenian ։, Ethiopic ።, Myanmar ။, followed by closing quotes or brackets.
SENTENCE_END = re.compile(
    "[.!?\u2026\u3002\uff01\uff1f\uff0e\uff61\u061f\u06d4\u0964\u0965\u0589\u1362\u104b]"
    "[\\s\"'\u201d\u2019\u00bb\u300d\u300f\u3011\uff09)\\]]*$"
)
# A line that starts like an item of a menu or list: a bullet, an arrow, a pipe, a number, a dash.
LIST_ITEM = re.compile(r"^\s*(?:[\u2022\u00b7\u25aa\u25cf\u25ba\u203a\u00bb*>|#+]|\d{1,2}[.)]\s|[-\u2013]\s)")


def words(text: str) -> list[str]:
    """The lower-cased words of a text, punctuation dropped."""
    return WORD.findall(text.lower())


def _is_word_char(ch: str) -> bool:
    """A character regular expressions call ``\\w``."""
    return ch.isalnum() or ch == "_"


def whole_word_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where ``phrase`` occurs in ``text`` with no word character on either side: what
    ``re.finditer(r"(?<!\\w)" + re.escape(phrase) + r"(?!\\w)", text)`` finds, without its cost (a
    pattern that opens with a look-behind is tried at every position; ``str.find`` jumps to the phrase)."""
    spans, size, at = [], len(phrase), text.find(phrase)
    while at >= 0:
        end = at + size
        if (at == 0 or not _is_word_char(text[at - 1])) and (end == len(text) or not _is_word_char(text[end])):
            spans.append((at, end))
            at = text.find(phrase, end)
        else:
            at = text.find(phrase, at + 1)
    return spans


def line_key(line: str) -> str:
    """Lines compared for repetition by their words only: case, punctuation and spacing differ in dumps."""
    return " ".join(words(line))


def word_count(text: str) -> int:
    """Words of any script: space-separated words, plus one per character of an unspaced script."""
    return len(UNSPACED_CHAR.findall(text)) + len(UNSPACED_CHAR.sub(" ", text).split())


def too_short(text: str, words: Optional[int] = None) -> bool:
    """Whether a text has too few words to be an article (``MIN_ARTICLE_WORDS``): the one rule parse (a
    page's text, a story's caption) and clean apply. ``words``: its ``word_count``, when already counted."""
    return (word_count(text) if words is None else words) < MIN_ARTICLE_WORDS
