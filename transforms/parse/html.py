"""HTML pages: trafilatura's metadata and the consensus of three extractions as the body (``consensus``);
feed entries, whose content is the article already, rendered to text."""

from __future__ import annotations

import dataclasses
import re

from transforms.parse.consensus import consensus_body
from transforms.parse.dates import parse_datetime
from transforms.parse.patterns import HTML_DATE_EXTRACTION
from transforms.schema import Article, Body, RawDocument
from transforms.settings import duration, option
from transforms.urls import canonical_url


@dataclasses.dataclass(frozen=True)
class HtmlOptions:
    """HTML pages: trafilatura's settings (docs/extraction.md has the measurements behind them) and a time limit."""

    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    consensus: bool = True  # body: the consensus of three extractions, not trafilatura's precise run alone
    time_limit: float = option(
        60.0,
        "longest one HTML page's extraction may take (90s, 2m); a page over it becomes an error row (transforms/parse/limit.py)",
        flag="extraction_time_limit",
        parse=duration,
        minimum=0.1,
        maximum=3600,
    )


def parse_html(raw: RawDocument, options: HtmlOptions = HtmlOptions()) -> Article:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        raw.body,
        url=raw.url,
        with_metadata=True,
        favor_precision=options.favor_precision,
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        date_extraction_params=HTML_DATE_EXTRACTION,
    )
    if extracted is None or not (extracted.text or "").strip():
        raise ValueError("no main text found in the HTML (empty, broken or not an article page)")
    text = consensus_body(extracted.text, raw.body, raw.url, options.include_tables) if options.consensus else extracted.text
    authors = tuple(a.strip() for a in re.split(r";|\band\b", extracted.author or "") if a.strip())
    # A page knows itself best (its canonical link, its own byline); what came with it is the fallback.
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(extracted.url or raw.url),
        source=extracted.sitename or raw.source or extracted.hostname,
        title=extracted.title or raw.title,
        authors=authors or raw.authors,
        published_at=parse_datetime(extracted.date) or parse_datetime(raw.published),
        language=extracted.language,
        text=text,
        input_format=Body.HTML,
        encoding=raw.encoding,
        feed_url=raw.feed_url,
        entry_id=raw.entry_id,
        categories=raw.categories,
    )


def parse_feed_entry(raw: RawDocument) -> Article:
    """A feed entry's content is the article already (no page around it): render its HTML to text."""
    from inscriptis import get_text

    if not raw.body.strip():
        raise ValueError("feed entry has no content or summary")
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=canonical_url(raw.url),
        source=raw.source,
        title=raw.title,
        authors=raw.authors,
        published_at=parse_datetime(raw.published),
        language=None,
        text=get_text(raw.body),
        input_format=Body.FEED,
        encoding=raw.encoding,
        feed_url=raw.feed_url,
        entry_id=raw.entry_id,
        categories=raw.categories,
    )
