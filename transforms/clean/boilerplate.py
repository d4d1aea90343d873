"""Boilerplate removal for plain-text page dumps.

A page flattened to text keeps its menus, captions, related-headline lists and newsletter prompts as
ordinary lines. We find the article the way jusText and Body Text Extraction do, with no list of phrases:
each paragraph (line) is scored by its length, stop-word density and whether it ends like a sentence,
and the article is the contiguous run of paragraphs with the highest total score; inside that run,
short lines survive only as subheadings of the body that follows them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Optional

from transforms.clean.language import stop_words
from transforms.clean.tables import CAPTION_CREDIT, BoilerplateSettings
from transforms.text import LIST_ITEM, SENTENCE_END, line_key, words


@dataclasses.dataclass
class Paragraph:
    text: str
    chars: int
    words: int
    stopword_density: float
    sentence: bool
    score: float = 0.0
    kind: str = ""  # good, neargood, short, bad


def classify(lines: list[str], language: Optional[str], settings: BoilerplateSettings, title: Optional[str]) -> list[Paragraph]:
    stops = stop_words(language)
    keys = [line_key(line) for line in lines]
    counts = Counter(keys)
    last_seen = {key: i for i, key in enumerate(keys)}
    title_key = line_key(title) if title else None
    s = settings
    paragraphs = []
    for i, line in enumerate(lines):
        tokens = words(line)
        density = sum(t in stops for t in tokens) / len(tokens) if tokens else 0.0
        p = Paragraph(line, len(line), len(tokens), density, bool(SENTENCE_END.search(line)))
        repeated = counts[keys[i]] > 1 and (not p.sentence or last_seen[keys[i]] != i)
        if (
            not tokens
            or repeated
            or keys[i] == title_key
            or CAPTION_CREDIT.search(line)
            or (LIST_ITEM.match(line) and p.chars < s.good_chars)
        ):
            p.kind, p.score = "bad", -(s.bad_penalty + p.chars * s.short_weight)
        elif p.sentence and p.chars >= s.good_chars and density >= s.good_stopwords:
            p.kind, p.score = "good", float(p.chars)
        elif p.sentence and p.chars >= s.neargood_chars and density >= s.neargood_stopwords:
            p.kind, p.score = "neargood", p.chars * s.neargood_weight
        else:
            p.kind, p.score = "short", -(s.short_penalty + p.chars * s.short_weight)
        paragraphs.append(p)
    return paragraphs


def best_run(scores: list[float]) -> tuple[int, int]:
    """The contiguous run [start, end) with the highest total score (Kadane's algorithm)."""
    best, best_start, best_end = 0.0, 0, 0
    total, start = 0.0, 0
    for i, score in enumerate(scores):
        if total <= 0:
            total, start = 0.0, i
        total += score
        if total > best:
            best, best_start, best_end = total, start, i + 1
    return best_start, best_end


def remove_boilerplate(
    text: str,
    language: Optional[str] = None,
    title: Optional[str] = None,
    settings: BoilerplateSettings = BoilerplateSettings(),
) -> str:
    """The article's paragraphs from a page dump, joined by blank lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    paragraphs = classify(lines, language, settings, title)
    start, end = best_run([p.score for p in paragraphs])
    body = paragraphs[start:end]
    kept = []
    for i, p in enumerate(body):
        if p.kind in ("good", "neargood"):
            kept.append(p.text)
        elif p.kind == "short" and p.words <= settings.max_subheading_words:
            following = body[i + 1] if i + 1 < len(body) else None
            if following is not None and following.kind in ("good", "neargood"):
                kept.append(p.text)
    return "\n\n".join(kept)
