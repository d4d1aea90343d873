"""Clean: repair the text (``repair``); if it is a page dump (``dump``), find the article in it
(``boilerplate``); then the language, guessed on the body's lines (``language``). Text that is already an
article gets only the repairs: ``--boilerplate auto`` decides per document by the evidence in its text
(plain text and feed entries), ``on`` extracts from every document, ``off`` from none. HTML's text is
trafilatura's main text already: ``auto`` leaves it whole, as extracting again cost recall on the dev set
(docs/extraction.md).
"""

from __future__ import annotations

import dataclasses

import apache_beam as beam

from transforms.clean.boilerplate import extract
from transforms.clean.dump import dump_evidence, is_page_dump
from transforms.clean.language import detect_language
from transforms.clean.repair import repair
from transforms.clean.scripts import prose_lines
from transforms.filters import NO_FILTERS, FilterSettings
from transforms.schema import CLEAN, Article, Body, ErrorRecord
from transforms.settings import option
from transforms.stage import ApplyOrRecordError, Skip, SplitByType
from transforms.text import MIN_ARTICLE_WORDS, too_short, word_count

__all__ = ["CleanArticles", "CleanSettings", "clean_article", "detect_language", "dump_evidence", "extract", "repair"]

BOILERPLATE_MODES = ("auto", "on", "off")
EXTRACTED_FORMATS = tuple(body for body in Body if body.extracted)  # ``auto`` means ``off`` for their text


@dataclasses.dataclass(frozen=True)
class CleanSettings:
    boilerplate: str = option(
        "auto",
        "remove page chrome (menus, link lists, promos) from text: auto when the text shows it (a page dump), "
        "on for every document, off for none; repairs are always made",
        choices=list(BOILERPLATE_MODES),
    )


def clean_text(text: str, title: str | None, mode: str) -> tuple[str, str | None]:
    """The repaired text, its article when it is (or is declared) a page dump, and its language."""
    if mode not in BOILERPLATE_MODES:
        raise ValueError(f"boilerplate mode must be one of {BOILERPLATE_MODES}, not {mode!r}")
    text = repair(text)
    if mode == "on" or (mode == "auto" and is_page_dump(text)):
        extraction = extract(text, title)
        if not extraction.text:
            raise ValueError(f"no article in this page dump: {extraction.reason}")
        return extraction.text, extraction.language
    lines = [line for line in text.splitlines() if line.strip()]
    return text, detect_language(prose_lines(lines) or lines)


def clean_article(
    article: Article, settings: CleanSettings = CleanSettings(), filters: FilterSettings = NO_FILTERS
) -> Article | Skip:
    """The article cleaned, or a ``Skip`` when its language is not one of ``--languages``."""
    title = repair(article.title) if article.title else None
    mode = "off" if settings.boilerplate == "auto" and article.input_format in EXTRACTED_FORMATS else settings.boilerplate
    text, language = clean_text(article.text, title, mode)
    words = word_count(text)
    if too_short(text, words):
        raise ValueError(f"no article text: {words} words after cleaning (fewer than {MIN_ARTICLE_WORDS})")
    if skip := filters.language_skip(article.language or language):
        return skip
    return dataclasses.replace(
        article,
        text=text,
        title=title,
        source=repair(article.source) if article.source else None,
        authors=tuple(repair(a) for a in article.authors),
        language=article.language or language,
        word_count=words,
    )


class CleanArticles(beam.PTransform):
    """Articles -> articles with repaired text, page chrome removed; outputs ``articles`` and ``errors``
    (articles outside ``--languages`` are counted as ``clean/skipped_language``)."""

    def __init__(self, settings: CleanSettings = CleanSettings(), filters: FilterSettings = NO_FILTERS):
        super().__init__()
        self.settings, self.filters = settings, filters

    def expand(self, articles):
        return (
            articles
            | "Clean" >> beam.ParDo(ApplyOrRecordError(clean_article, CLEAN, self.settings, self.filters))
            | "ByType" >> SplitByType(CLEAN, articles=Article, errors=ErrorRecord)
        )
