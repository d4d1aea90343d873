"""Parse: ``RawDocument`` -> ``Article`` with main text and metadata.

HTML goes through trafilatura (``html``), within a time limit (``limit``); the page's own metadata wins
over what came with it (JSONL fields, the feed entry). A feed entry without its page is rendered to text
as it is. Plain-text page dumps keep their whole text and get their metadata from their first lines (``text``).
"""

from __future__ import annotations

import dataclasses

import apache_beam as beam

from transforms.filters import NO_FILTERS, FilterSettings
from transforms.parse.dates import find_date, parse_datetime
from transforms.parse.html import HtmlOptions, parse_feed_entry, parse_html
from transforms.parse.limit import within_time_limit
from transforms.parse.text import find_byline, find_title, parse_text
from transforms.schema import PARSE, Article, Body, ErrorRecord, RawDocument
from transforms.stage import ApplyOrRecordError, Skip, SplitByType
from transforms.text import MIN_ARTICLE_WORDS, too_short

# What parse_html imports on its first page, imported when its child process starts (parse.limit).
HTML_MODULES = ("trafilatura",)

__all__ = ["HtmlOptions", "ParseDocuments", "find_byline", "find_date", "find_title", "parse_datetime", "parse_document"]


# How each kind of body is read: one parser per ``Body`` (checked below, so a new kind cannot go unread).
PARSERS = {
    # lxml and trafilatura can stall on a pathological page: in a child, timed (parse.limit)
    Body.HTML: lambda raw, options: within_time_limit(options.time_limit, parse_html, raw, options, preload=HTML_MODULES),
    Body.FEED: lambda raw, options: parse_feed_entry(raw),
    Body.TEXT: lambda raw, options: parse_text(raw),
}
assert set(PARSERS) == set(Body), "every Body needs its parser"


def parse_document(
    raw: RawDocument, options: HtmlOptions = HtmlOptions(), filters: FilterSettings = NO_FILTERS
) -> Article | Skip:
    """The article in a document, or a ``Skip`` when its host is filtered out (``--hosts``: files are
    filtered as they are read, feed entries here) or its publication date is outside ``--published-*``."""
    if skip := filters.host_skip(raw.url):
        return skip
    article = PARSERS[Body(raw.format)](raw, options)
    if too_short(article.text):
        raise ValueError(f"fewer than {MIN_ARTICLE_WORDS} words of text")
    if skip := filters.published_skip(article.published_at):
        return skip
    return dataclasses.replace(article, crawled_at=raw.crawled_at, record_id=raw.record_id)


class ParseDocuments(beam.PTransform):
    """Raw documents -> articles with text and metadata; outputs ``articles`` and ``errors`` (documents
    outside ``--published-*`` are counted as ``parse/skipped_published``)."""

    def __init__(self, options: HtmlOptions = HtmlOptions(), filters: FilterSettings = NO_FILTERS):
        super().__init__()
        self.options, self.filters = options, filters

    def expand(self, documents):
        return (
            documents
            | "Parse" >> beam.ParDo(ApplyOrRecordError(parse_document, PARSE, self.options, self.filters))
            | "ByType" >> SplitByType(PARSE, articles=Article, errors=ErrorRecord)
        )
