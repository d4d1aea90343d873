"""Parse: ``RawDocument`` -> ``Article`` with main text and metadata.

HTML goes through trafilatura (``html``), within a time limit (``limit``); the page's own metadata wins
over what came with it (JSONL fields, the feed entry). A feed entry without its page is rendered to text
as it is. Plain-text page dumps keep their whole text and get their metadata from their first lines (``text``).
"""

from __future__ import annotations

import apache_beam as beam

from transforms.parse.dates import find_date, parse_datetime
from transforms.parse.html import HtmlOptions, parse_feed_entry, parse_html
from transforms.parse.limit import within_time_limit
from transforms.parse.text import find_byline, find_title, parse_text
from transforms.schema import PARSE, Article, ErrorRecord, RawDocument
from transforms.stage import ApplyOrRecordError, SplitByType
from transforms.text import MIN_ARTICLE_WORDS, word_count

# What parse_html imports on its first page, imported when its child process starts (parse.limit).
HTML_MODULES = ("trafilatura", "trafilatura.readability_lxml", "inscriptis")

__all__ = ["HtmlOptions", "ParseDocuments", "find_byline", "find_date", "find_title", "parse_datetime", "parse_document"]


def parse_document(raw: RawDocument, options: HtmlOptions = HtmlOptions()) -> Article:
    if raw.format == "html":  # lxml and trafilatura can stall on a pathological page: in a child, timed
        article = within_time_limit(options.time_limit, parse_html, raw, options, preload=HTML_MODULES)
    elif raw.format == "feed":
        article = parse_feed_entry(raw)
    else:
        article = parse_text(raw)
    if word_count(article.text) < MIN_ARTICLE_WORDS:
        raise ValueError(f"fewer than {MIN_ARTICLE_WORDS} words of text")
    return article


class ParseDocuments(beam.PTransform):
    """Raw documents -> articles with text and metadata; outputs ``articles`` and ``errors``."""

    def __init__(self, options: HtmlOptions = HtmlOptions()):
        super().__init__()
        self.options = options

    def expand(self, documents):
        return (
            documents
            | "Parse" >> beam.ParDo(ApplyOrRecordError(parse_document, PARSE, self.options))
            | "ByType" >> SplitByType(PARSE, articles=Article, errors=ErrorRecord)
        )
