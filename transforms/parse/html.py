"""HTML pages: the page's own metadata (``headline``, ``byline``, ``stated_dates``; trafilatura's as the
fallback) and trafilatura's main text, favouring precision, as the body (chosen on two dev sets by site
cross-validation: docs/extraction.md), or a story's caption (``markup``); feed entries, whose content is the
article already, rendered to text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from transforms.parse import byline, headline, markup, stated_dates
from transforms.parse.dates import first_plausible, parse_datetime
from transforms.parse.patterns import EARLIEST_YEAR, HTML_DATE_EXTRACTION, HTML_DATE_SOURCES
from transforms.schema import Article, Body, RawDocument
from transforms.settings import duration, option
from transforms.text import too_short
from transforms.urls import canonical_url


@dataclasses.dataclass(frozen=True)
class HtmlOptions:
    """HTML pages: trafilatura's settings (docs/extraction.md has the measurements behind them) and a time limit."""

    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    time_limit: float = option(
        60.0,
        "longest one HTML page's extraction may take (90s, 2m); a page over it becomes an error row (transforms/parse/limit.py)",
        flag="extraction_time_limit",
        parse=duration,
        minimum=0.1,
        maximum=3600,
    )


def fetched_time(raw: RawDocument) -> Optional[dt.datetime]:
    """When the document was fetched or crawled, if its reader knew (a later date on it is a misreading)."""
    return raw.crawled_at


def date_extraction(not_after: Optional[dt.datetime]) -> dict:
    """htmldate's settings for one page: nothing later than its fetch, nothing before EARLIEST_YEAR."""
    limit = (not_after or dt.datetime.now(dt.UTC)).date() + dt.timedelta(days=1)
    return {**HTML_DATE_EXTRACTION, "max_date": limit.isoformat(), "min_date": f"{EARLIEST_YEAR}-01-01"}


def published(
    raw: RawDocument, tree, url: Optional[str], found: Optional[str], title: Optional[str] = None
) -> tuple[Optional[dt.datetime], Optional[str]]:
    """The publication time and its source, the first plausible candidate in ``HTML_DATE_SOURCES`` order:
    htmldate's search (``found``) when the page's stated time (JSON-LD, <meta>) or its URL has the same day
    ("agreed": the stated time itself is taken then, with its offset), the stated time, the URL's day, the
    dateline printed under the headline ("text"), htmldate's search alone (a date it found anywhere in the
    markup or text, "text"). A time stated in UTC is put
    in the offset of the time the page prints under its headline, when it prints one: ``published_date``
    is the publisher's day. A feed entry's time wins over the page's unless the page states an earlier one
    (a feed's date is often a later update: the original is what "who ran it first" needs); a date given
    with the document (a JSONL field) is the fallback (docs/metadata.md)."""
    not_after = fetched_time(raw)
    metas = stated_dates.meta_dates(tree) if tree is not None else ()
    stated = [when for value in metas if (when := parse_datetime(value, not_after, own_offset=True))]
    url_day = stated_dates.url_date(url) or stated_dates.url_date(raw.url)
    head = headline.headline(tree, title) if tree is not None else None
    dateline = stated_dates.first_dateline(tree, head, not_after)
    candidates = date_candidates(stated, url_day, found, not_after, stated_dates.printed_date(dateline))
    when, source = first_plausible([c for name in HTML_DATE_SOURCES for c in candidates[name]], not_after)
    in_utc = when is not None and when.utcoffset() == dt.timedelta(0) and when.time() != dt.time(0)
    clock = stated_dates.printed_time(dateline) if in_utc else None
    if clock is not None and (offset := stated_dates.printed_offset(when, clock)):
        when = when.astimezone(offset)
    given = parse_datetime(raw.published, not_after, own_offset=True)
    if given is not None and raw.feed_url and not (source == "html" and when < given):
        return given, "feed"
    if when is None and given is not None:
        return given, "feed" if raw.feed_url else "input"
    return when, source


def date_candidates(
    stated: list[dt.datetime],
    url_day: Optional[dt.datetime],
    found: Optional[str],
    not_after: Optional[dt.datetime],
    printed: Optional[dt.datetime] = None,
) -> dict[str, list[tuple[str, Optional[dt.datetime]]]]:
    """(source, time) candidates by ``HTML_DATE_SOURCES`` name. htmldate's result that a stated time or the
    URL's day corroborates is "agreed" (labelled by what agrees, "html" or "url"); alone it is "search",
    labelled "text" (a date in the markup or text: an image caption's, a related story's, a JavaScript string)."""
    search = parse_datetime(found, not_after, own_offset=True) if found else None
    agreed: list[tuple[str, Optional[dt.datetime]]] = []
    if search is not None:
        days = {search.date(), search.astimezone(dt.UTC).date()}
        same = [w for w in stated if w.date() in days or w.astimezone(dt.UTC).date() in days]
        if same:
            agreed = [("html", same[0])]
        elif url_day is not None and url_day.date() in days:
            agreed = [("url", search)]
    return {
        "agreed": agreed,
        "html": [("html", w) for w in stated],
        "url": [("url", url_day)],
        "printed": [("text", search if search and printed and search.date() == printed.date() else printed)],
        "search": [("text", search)],
    }


def story_text(raw: RawDocument, tree) -> str:
    """A photo or video story's text: the caption or summary it states (``markup.story_summary``), when the
    page is dated by its own statement (JSON-LD, <meta>). Analysts filter such stories by day as any other;
    a page with neither (a menu, an index, a broken page) stays an error."""
    summary = markup.story_summary(tree) if tree is not None else None
    stated = tree is not None and any(parse_datetime(v, fetched_time(raw)) for v in stated_dates.meta_dates(tree))
    if not summary or not stated or too_short(summary):
        raise ValueError("no main text found in the HTML (empty, broken or not an article page)")
    return summary


def parse_html(raw: RawDocument, options: HtmlOptions = HtmlOptions()) -> Article:
    import trafilatura
    from trafilatura.utils import load_html

    dates = date_extraction(fetched_time(raw))
    extracted = trafilatura.bare_extraction(
        raw.body,
        url=raw.url,
        with_metadata=True,
        favor_precision=options.favor_precision,
        include_comments=options.include_comments,
        include_tables=options.include_tables,
        date_extraction_params=dates,
    )
    tree = load_html(raw.body)
    text = (extracted.text or "").strip() if extracted is not None else ""
    if too_short(text):
        text = story_text(raw, tree)
        if extracted is None:  # trafilatura gives no metadata without a main text: ask for it alone
            extracted = trafilatura.extract_metadata(raw.body, default_url=raw.url, date_config=dates)
    # A page knows itself best (its canonical link, its own byline); what came with it is the fallback.
    url = canonical_url(extracted.url or raw.url)
    domain = headline.registered_domain(url or raw.url)
    names = headline.site_names(tree, url, extracted.sitename) if tree is not None else []
    title = headline.page_title(tree, names, domain, extracted.title) if tree is not None else extracted.title
    authors, agency = byline.page_authors(tree, extracted.author, names, domain) if tree is not None else ((), None)
    published_at, published_source = published(raw, tree, url, extracted.date, title)
    return Article(
        article_id=raw.doc_id,
        source_path=raw.source_path,
        url=url,
        source=extracted.sitename or raw.source or domain or extracted.hostname,
        title=title or raw.title,
        authors=authors or raw.authors,
        published_at=published_at,
        published_source=published_source,
        agency=agency,
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
        published_at=(published_at := parse_datetime(raw.published, fetched_time(raw), own_offset=True)),
        published_source="feed" if published_at else None,
        language=None,
        text=get_text(raw.body),
        input_format=Body.FEED,
        encoding=raw.encoding,
        feed_url=raw.feed_url,
        entry_id=raw.entry_id,
        categories=raw.categories,
    )
