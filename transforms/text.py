"""Text shapes every stage agrees on: what a word is, when two lines are the same line, what a list item
and a sentence end look like, and how few words make no article."""

from __future__ import annotations

import re

MIN_ARTICLE_WORDS = 5  # fewer words than this, after parsing or cleaning, is no article

WORD = re.compile(r"\w+")
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): each character counts
# as a word, as word counts in those languages do.
UNSPACED_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$|[\"\u201d]$")
# A line that starts like an item of a menu or list: a bullet, an arrow, a pipe, a number, a dash.
LIST_ITEM = re.compile(r"^\s*(?:[\u2022\u00b7\u25aa\u25cf\u25ba\u203a\u00bb*>|#+]|\d{1,2}[.)]\s|[-\u2013]\s)")


def words(text: str) -> list[str]:
    """The lower-cased words of a text, punctuation dropped."""
    return WORD.findall(text.lower())


def line_key(line: str) -> str:
    """Lines compared for repetition by their words only: case, punctuation and spacing differ in dumps."""
    return " ".join(words(line))


def word_count(text: str) -> int:
    """Words of any script: space-separated words, plus one per character of an unspaced script."""
    return len(UNSPACED_CHAR.findall(text)) + len(UNSPACED_CHAR.sub(" ", text).split())
