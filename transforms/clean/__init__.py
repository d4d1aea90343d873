"""Clean: repair Unicode, normalise whitespace and quotes (``repair``), and strip boilerplate from plain-text
dumps (``boilerplate``). HTML was already reduced to its main text by trafilatura in the parse stage, so
it only gets the repairs."""

from __future__ import annotations

import dataclasses

import apache_beam as beam

from transforms.clean.boilerplate import best_run, remove_boilerplate
from transforms.clean.language import detect_language
from transforms.clean.repair import repair
from transforms.clean.tables import BoilerplateSettings
from transforms.schema import CLEAN, Article, ErrorRecord
from transforms.stage import ApplyOrRecordError, SplitByType
from transforms.text import MIN_ARTICLE_WORDS

__all__ = ["BoilerplateSettings", "CleanArticles", "best_run", "clean_article", "detect_language", "remove_boilerplate", "repair"]


def clean_article(article: Article, settings: BoilerplateSettings = BoilerplateSettings()) -> Article:
    text = repair(article.text)
    title = repair(article.title) if article.title else None
    language = article.language or detect_language(text)
    if article.input_format == "text":
        text = remove_boilerplate(text, language, title, settings)
    words = len(text.split())
    if words < MIN_ARTICLE_WORDS:
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
            | "ByType" >> SplitByType(CLEAN, articles=Article, errors=ErrorRecord)
        )
