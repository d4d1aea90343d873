"""Clean: repair Unicode, normalise whitespace and quotes, and strip boilerplate from plain-text dumps.

A page flattened to text keeps its menus, captions, related-headline lists and newsletter prompts as
ordinary lines. We find the article the way jusText and Body Text Extraction do, with no list of phrases:
each paragraph (line) is scored by its length, stop-word density and whether it ends like a sentence,
and the article is the contiguous run of paragraphs with the highest total score; inside that run,
short lines survive only as subheadings of the body that follows them. HTML was already reduced to its
main text by trafilatura in the parse stage, so it only gets the repairs.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from typing import Optional

import apache_beam as beam
import ftfy

from transforms.parse import normalise_key
from transforms.schema import CLEAN, Article, ErrorRecord
from transforms.stage import ApplyOrRecordError, SplitByType
MIN_WORDS = 5

_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$|[\"\u201d]$")
_CAPTION_CREDIT = re.compile(r"[.!?]\s*\([^()]{2,60}\)$")  # "... June 23, 2021. (Reuters photo)"
_LIST_ITEM = re.compile(r"^\s*(?:[\u2022\u00b7\u25aa\u25cf\u25ba\u203a\u00bb*>|#+]|\d{1,2}[.)]\s|[-\u2013]\s)")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclasses.dataclass(frozen=True)
class BoilerplateSettings:
    """The classifier's thresholds, tuned on the dev set's text renderings (bench/extraction_eval.py)."""

    good_chars: int = 120  # a body paragraph: this long, ...
    good_stopwords: float = 0.30  # ... this many stop words, and ending like a sentence
    neargood_chars: int = 50
    neargood_stopwords: float = 0.20
    neargood_weight: float = 0.7  # score per character of a near-good paragraph (a good one scores 1)
    short_penalty: float = 25.0  # score of a short or unfinished line: -(penalty + weight * chars)
    short_weight: float = 0.5
    bad_penalty: float = 60.0  # repeats, list items and captions
    max_subheading_words: int = 15


@functools.lru_cache(maxsize=None)
def stop_words(language: Optional[str]) -> frozenset[str]:
    """spaCy's stop-word list for the language (English when unknown or unlisted)."""
    import spacy.util

    for code in (language or "en", "en"):
        try:
            return frozenset(spacy.util.get_lang_class(code).Defaults.stop_words)
        except (ImportError, AttributeError):
            continue
    return frozenset()


@functools.lru_cache(maxsize=1)
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> Optional[str]:
    """ISO 639-1 code of the text's language, or None when the guess is weak."""
    code, probability = _language_identifier().classify(text[:5000])
    return code if probability >= 0.5 else None


def repair(text: str) -> str:
    """Fix mojibake, straighten quotes, fold odd spaces, trim lines and squeeze blank runs to one."""
    text = ftfy.fix_text(text, uncurl_quotes=True, normalization="NFC")
    lines = (re.sub(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


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
    keys = [normalise_key(line) for line in lines]
    counts = Counter(keys)
    last_seen = {key: i for i, key in enumerate(keys)}
    title_key = normalise_key(title) if title else None
    s = settings
    paragraphs = []
    for i, line in enumerate(lines):
        tokens = _WORD.findall(line.lower())
        density = sum(t in stops for t in tokens) / len(tokens) if tokens else 0.0
        p = Paragraph(line, len(line), len(tokens), density, bool(_SENTENCE_END.search(line)))
        repeated = counts[keys[i]] > 1 and (not p.sentence or last_seen[keys[i]] != i)
        if (
            not tokens
            or repeated
            or keys[i] == title_key
            or _CAPTION_CREDIT.search(line)
            or (_LIST_ITEM.match(line) and p.chars < s.good_chars)
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


def clean_article(article: Article, settings: BoilerplateSettings = BoilerplateSettings()) -> Article:
    text = repair(article.text)
    title = repair(article.title) if article.title else None
    language = article.language or detect_language(text)
    if article.input_format == "text":
        text = remove_boilerplate(text, language, title, settings)
    words = len(text.split())
    if words < MIN_WORDS:
        raise ValueError(f"no article text left after boilerplate removal ({words} words)")
    return dataclasses.replace(
        article,
        text=text,
        title=title,
        source=repair(article.source) if article.source else None,
        authors=tuple(repair(a) for a in article.authors),
        language=language,
        word_count=words,
    )


class CleanArticles(beam.PTransform):
    """Articles -> articles with repaired text and no boilerplate; outputs ``articles`` and ``errors``."""

    def __init__(self, settings: BoilerplateSettings = BoilerplateSettings()):
        super().__init__()
        self.settings = settings

    def expand(self, articles):
        return (
            articles
            | "Clean" >> beam.ParDo(ApplyOrRecordError(clean_article, CLEAN, self.settings))
            | "ByType" >> SplitByType(articles=Article, errors=ErrorRecord)
        )
