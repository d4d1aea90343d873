"""Metadata people filter on (issue 27): titles, publication dates with their source, authors, agencies and
outlets, on HTML pages and plain-text page dumps. The measured figures are bench.metadata_eval's."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from transforms.parse import find_date, parse_document
from transforms.parse.byline import clean_authors
from transforms.parse.dates import plausible
from transforms.parse.headline import page_title, strip_site
from transforms.parse.html import published
from transforms.parse.text import find_title
from transforms.schema import ARTICLES_SCHEMA, RawDocument

UTC = dt.UTC
BODY = "".join(
    f"<p>The port of Harbourtown reopened on day {i} after a storm closed it for three days, officials said, "
    "and the first ships were unloaded before noon under a clear sky.</p>"
    for i in range(4)
)


def page(head="", before="", h1="Port reopens after storm", url="https://harbour.example/port", after="") -> RawDocument:
    html = f"<html lang='en'><head>{head}</head><body>{before}<article><h1>{h1}</h1>{after}{BODY}</article></body></html>"
    return RawDocument("id", "page.html", "html", html, url=url)


def test_the_two_new_columns_are_in_the_articles_table():
    assert ARTICLES_SCHEMA.field("published_source").type == "string"
    assert ARTICLES_SCHEMA.field("agency").type == "string"


# ------------------------------------------------------------------------------------------- dates


def datelines():
    path = Path(__file__).parent / "fixtures" / "datelines.tsv"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return [pytest.param(line, want.strip(), id=f"{lang}-{i}") for i, (lang, line, want) in enumerate(rows)]


@pytest.mark.parametrize("line, day", datelines())
def test_a_dateline_in_any_language_gives_its_day(line, day):
    """Reproduces issue 27: find_date returned nothing for Опубликовано 12 марта 2021, 10:15 and 2021年3月12日;
    a caption's date and a copyright year are no dateline."""
    when = find_date([line])
    assert (when.date().isoformat() if when else "") == day


def test_a_caption_date_and_a_masthead_date_are_not_the_publication_date(seed_paths):
    """Reproduces issue 27: seed 001 was dated by a photo caption (2021-06-23), seed 000 by its masthead's
    day of printing (2025-11-08), so the story's first outlet was the wrong one. Neither is a dateline."""
    for prefix in ("000", "001", "003"):
        path = next(p for p in seed_paths if p.name.startswith(prefix))
        article = parse_document(RawDocument(path.stem, str(path), "text", path.read_text(encoding="utf-8")))
        assert (article.published_at, article.published_source) == (None, None), prefix


def test_a_dump_dateline_below_the_title_is_taken_with_its_source():
    body = "Harbour Times\nPort reopens after the long storm\nBy Mary Major\nОпубликовано 12 марта 2021, 10:15\n" + (
        "The port reopened on Monday after a storm closed it for three days, officials said today.\n" * 3
    )
    article = parse_document(RawDocument("d", "d.txt", "text", body))
    assert article.published_at == dt.datetime(2021, 3, 12, 10, 15, tzinfo=UTC) and article.published_source == "text"
    assert article.title == "Port reopens after the long storm" and article.authors == ("Mary Major",)


def test_a_future_or_ancient_date_is_not_taken_and_the_next_source_is():
    fetched = dt.datetime(2021, 8, 20, tzinfo=UTC)
    assert plausible(dt.datetime(2021, 8, 20, 10, tzinfo=UTC), fetched)
    assert not plausible(dt.datetime(2021, 8, 22, tzinfo=UTC), fetched)
    assert not plausible(dt.datetime(1970, 1, 1, tzinfo=UTC), fetched)
    raw = page(
        '<meta property="article:published_time" content="2031-01-01T00:00:00Z">',
        url="https://harbour.example/2021/08/16/port",
    )
    article = parse_document(raw)
    assert (article.published_at.date(), article.published_source) == (dt.date(2021, 8, 16), "url")


def test_the_page_states_its_time_in_its_own_offset_and_parquet_keeps_the_instant():
    article = parse_document(page('<meta property="article:published_time" content="2020-10-14T05:50:00+08:00">'))
    assert article.published_source == "html" and article.published_at.date() == dt.date(2020, 10, 14)
    assert article.published_at == dt.datetime(2020, 10, 13, 21, 50, tzinfo=UTC)
    assert article.published_date == dt.date(2020, 10, 14)  # the day the outlet printed, not the UTC day


def test_the_partition_is_the_publishers_day_and_parquet_keeps_the_exact_instant():
    from transforms.write.parquet import table_batches

    evening = dt.datetime(2021, 8, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 04:30 UTC on 1 September
    article = dataclasses.replace(parse_document(page()), published_at=evening)
    [(table, partition, [row])] = table_batches(article)
    assert (table, partition, row["published_date"]) == ("articles", "2021-08", dt.date(2021, 8, 31))
    assert row["published_at"] == evening and row["published_at"].astimezone(UTC).day == 1


def test_a_time_stated_in_utc_takes_the_offset_of_the_time_printed_under_the_headline():
    stamp = '<meta property="article:published_time" content="2023-12-23T03:22:07Z">'
    evening = parse_document(page(stamp, after="<p class='byline'>By Ann Lee</p><p>Dec 22, 2023, 10:22 PM EST</p>"))
    assert evening.published_at == dt.datetime(2023, 12, 23, 3, 22, 7, tzinfo=UTC)  # the instant is unchanged
    assert evening.published_at.utcoffset() == dt.timedelta(hours=-5) and evening.published_date == dt.date(2023, 12, 22)
    assert evening.published_source == "html"
    morning = parse_document(page(stamp.replace("2023-12-23T03:22:07Z", "2023-12-25T22:03:00Z"), after="<span>December 26, 2023 - 9:03AM</span>"))
    assert morning.published_at.utcoffset() == dt.timedelta(hours=11) and morning.published_date == dt.date(2023, 12, 26)


@pytest.mark.parametrize(
    "printed",
    [
        "<p>Updated Dec 23, 2023, 9:40 PM EST</p>",  # an update's time is not the publication's
        "<p>December 22, 2023</p>",  # a day without a time of day gives no offset
        "<p>Dec 20, 2023, 10:22 PM</p>",  # an offset of 29 hours is no zone: another date of the page
        "<p>Dec 22, 2023, 6:07 PM</p>",  # 9 h 15 min behind UTC is no zone: an update's or an event's time
    ],
)
def test_no_offset_is_read_from_an_update_a_day_alone_or_an_impossible_gap(printed):
    stamp = '<meta property="article:published_time" content="2023-12-23T03:22:07Z">'
    article = parse_document(page(stamp, after=printed))
    assert article.published_at.utcoffset() == dt.timedelta(0) and article.published_date == dt.date(2023, 12, 23)


def test_htmldate_wins_when_the_statement_or_url_agrees_and_the_statement_wins_over_a_date_in_the_text():
    from trafilatura.utils import load_html

    stated = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "Tue, Sep 15 2020 10:01:41 -0400"}</script>'
    raw = page(stated, url="https://harbour.example/port")
    tree = load_html(raw.body)
    eastern = dt.timezone(dt.timedelta(hours=-4))
    # htmldate read a caption's date in the text: the page's own statement wins
    assert published(raw, tree, raw.url, "2020-05-20") == (dt.datetime(2020, 9, 15, 10, 1, 41, tzinfo=eastern), "html")
    # htmldate agrees with the statement (its UTC day): the statement is taken, with its offset
    assert published(raw, tree, raw.url, "2020-09-15T14:01:41+0000") == (dt.datetime(2020, 9, 15, 10, 1, 41, tzinfo=eastern), "html")
    bare = page(url="https://harbour.example/2021/08/16/port")
    # no statement: htmldate's day agreeing with the URL is the URL's; alone, a date from the text
    assert published(bare, load_html(bare.body), bare.url, "2021-08-16T09:30:00") == (dt.datetime(2021, 8, 16, 9, 30, tzinfo=UTC), "url")
    assert published(bare, load_html(bare.body), bare.url, "2021-08-11") == (dt.datetime(2021, 8, 16, tzinfo=UTC), "url")
    plain = page()
    assert published(plain, load_html(plain.body), plain.url, "2021-08-11") == (dt.datetime(2021, 8, 11, tzinfo=UTC), "text")


def test_a_url_with_an_english_month_name_gives_its_day():
    from transforms.parse.stated_dates import url_date

    assert url_date("https://checks.example/article/2023/dec/21/claims-about-the-port/") == dt.datetime(2023, 12, 21, tzinfo=UTC)
    assert url_date("https://checks.example/2023/September/5/port") == dt.datetime(2023, 9, 5, tzinfo=UTC)
    assert url_date("https://checks.example/2023/dec/32/port") is None


def test_a_feed_entry_time_wins_over_its_page_unless_the_page_states_an_earlier_one():
    from trafilatura.utils import load_html

    meta = '<meta property="article:published_time" content="{}">'
    for page_time, feed_time, want in [
        ("2021-08-16T09:00:00Z", "2021-08-16T12:00:00Z", (dt.datetime(2021, 8, 16, 9, tzinfo=UTC), "html")),
        ("2021-08-17T09:00:00Z", "2021-08-16T12:00:00Z", (dt.datetime(2021, 8, 16, 12, tzinfo=UTC), "feed")),
        ("2031-08-17T09:00:00Z", "2021-08-16T12:00:00Z", (dt.datetime(2021, 8, 16, 12, tzinfo=UTC), "feed")),
    ]:
        raw = page(meta.format(page_time))
        raw = RawDocument(raw.doc_id, raw.source_path, "html", raw.body, url=raw.url, published=feed_time, feed_url="https://harbour.example/rss")
        assert published(raw, load_html(raw.body), raw.url, None) == want
    given = RawDocument("j", "j.jsonl:1", "html", page().body, url="https://harbour.example/port", published="2021-08-16")
    assert parse_document(given).published_source == "input"


def test_a_dateline_printed_under_the_headline_beats_a_date_htmldate_found_elsewhere():
    """Reproduces dates-dev (news.az, asiapacificstar.com): with no stated time and no URL day, htmldate took
    a masthead's or a sidebar's day; the dateline printed under the headline is the story's."""
    from trafilatura.utils import load_html

    raw = page(after="<ul><li>By Ann Lee</li><li>13 Oct 2020 18:29</li></ul>")
    assert published(raw, load_html(raw.body), raw.url, "2020-12-08") == (dt.datetime(2020, 10, 13, tzinfo=UTC), "text")
    # htmldate's day agreeing with the printed one: its time of day is kept
    assert published(raw, load_html(raw.body), raw.url, "2020-10-13T18:29:00") == (dt.datetime(2020, 10, 13, 18, 29, tzinfo=UTC), "text")
    # the page's statement and its URL's day still win over what it prints
    stated = page('<meta property="article:published_time" content="2020-10-20T09:00:00Z">', after="<p>13 Oct 2020</p>")
    assert published(stated, load_html(stated.body), stated.url, None)[0].date() == dt.date(2020, 10, 20)
    dated_url = page(after="<p>13 Oct 2020</p>", url="https://harbour.example/2020/10/20/port")
    assert published(dated_url, load_html(dated_url.body), dated_url.url, None)[0].date() == dt.date(2020, 10, 20)


def test_the_printed_dateline_is_read_under_an_h2_headline_and_not_from_an_update_or_an_ambiguous_number():
    from trafilatura.utils import load_html

    from transforms.parse.headline import headline
    from transforms.parse.stated_dates import first_dateline, printed_date

    html = (
        "<html><body><div><span>Tue, 14 Jan 2020</span></div><h2>Fires brought under control</h2>"
        "<p>News24<br>13 Jan 2020, 22:11 GMT+10</p><p>Fire crews said the blaze was contained.</p></body></html>"
    )
    tree = load_html(html)
    head = headline(tree, "Fires brought under control")
    assert head.tag == "h2" and printed_date(first_dateline(tree, head)) == dt.datetime(2020, 1, 13, tzinfo=UTC)
    for printed, want in [
        ("<p>Updated December 26, 2023</p><p>December 22, 2023</p>", dt.date(2023, 12, 22)),  # the update passed over
        ("<p>05/12/2020 - 15:10</p>", None),  # 5 December or May 12: no evidence
        ("<p>25/12/2020 - 15:10</p>", dt.date(2020, 12, 25)),
    ]:
        tree = load_html(page(after=printed).body)
        got = printed_date(first_dateline(tree, headline(tree, "Port reopens after storm")))
        assert (got.date() if got else None) == want, printed


def test_a_photo_or_video_story_with_a_stated_time_and_a_caption_is_an_article():
    """Reproduces dates-dev (bizwest.com, couriermail.com.au): a photo page and a video page with a headline,
    a stated time and a caption ended as error rows, so no analyst could find them by day."""
    caption = "The Loft is closing its store at Twenty Ninth Street in Boulder. Lucas High/BizWest"
    head = (
        '<meta property="og:type" content="article"><meta property="og:title" content="Loft closes">'
        f'<meta property="og:description" content="{caption}"><meta name="twitter:description" content="Visit the post.">'
        '<meta property="article:published_time" content="2020-03-11T20:07:04+00:00">'
    )
    html = f"<html><head>{head}</head><body><h1>Loft closes</h1><img src='loft.jpg'><p>Sponsored Content</p></body></html>"
    article = parse_document(RawDocument("p", "p.html", "html", html, url="https://harbour.example/photo/loft"))
    assert (article.text, article.title, article.published_source) == (caption, "Loft closes", "html")
    assert article.published_date == dt.date(2020, 3, 11)
    # without a time the page states, or on a page that is no story (og:type website), it stays an error row
    for changed in (head.replace("article:published_time", "article:other"), head.replace('"article"', '"website"')):
        with pytest.raises(ValueError, match="no main text"):
            parse_document(RawDocument("p", "p.html", "html", html.replace(head, changed), url="https://harbour.example/p"))


def test_a_stated_time_with_a_zone_abbreviation_keeps_its_offset():
    from transforms.parse.dates import parse_datetime

    eastern = parse_datetime("Tue, Sep 15 2020 10:01:41 EDT", own_offset=True)
    assert eastern.utcoffset() == dt.timedelta(hours=-4) and eastern.astimezone(UTC).hour == 14
    assert parse_datetime("Dec 22, 2023 22:10 PST").date() == dt.date(2023, 12, 23)  # the UTC instant
    assert parse_datetime("2020-09-15 10:01 CST", own_offset=True).utcoffset() == dt.timedelta(0)  # ambiguous: as before


# ------------------------------------------------------------------------------------------ titles


def test_the_site_name_is_taken_off_a_title():
    names = ["Sci.News", "Maxim"]
    assert strip_site("72-Million-Year-Old Snail Fossil | Sci.News", names, "sci-news.com") == "72-Million-Year-Old Snail Fossil"
    assert strip_site("The Best Whiskeys - Maxim", names, "maxim.com") == "The Best Whiskeys"
    assert strip_site("President Gay Was Right | Opinion | The Harvard Crimson", ["The Harvard Crimson"], "thecrimson.com") == (
        "President Gay Was Right"
    )
    assert strip_site("Spider-Man - Far From Home review", names, "maxim.com") == "Spider-Man - Far From Home review"


def test_the_page_headline_beats_the_social_media_title():
    from trafilatura.utils import load_html

    head = '<meta property="og:title" content="Is this the best port in the world?"><title>Port news | Harbour Times</title>'
    raw = page(head, h1="Port reopens after storm")
    assert page_title(load_html(raw.body), ["Harbour Times"], "harbour.example", None) == "Port reopens after storm"
    sectioned = page('<meta property="og:title" content="Port reopens after storm">', h1="Politics | Port reopens after storm")
    assert parse_document(sectioned).title == "Port reopens after storm"
    with_section_h1 = page(
        '<meta property="og:title" content="Port reopens after storm - Harbour Times">', before="<h1>Football</h1>"
    )
    assert parse_document(with_section_h1).title == "Port reopens after storm"


def test_a_social_title_that_is_only_the_site_name_does_not_make_the_logo_the_headline():
    """Reproduces dates-dev (news.az): twitter:title "News.az" agreed with the logo's h1, which became the title."""
    from trafilatura.utils import load_html

    head = '<meta name="twitter:title" content="Harbour Times"><title>Port reopens after storm</title>'
    raw = page(head, before="<h1>Harbour Times</h1>")
    assert page_title(load_html(raw.body), ["Harbour Times"], "harbour.example", None) == "Port reopens after storm"


def test_a_menu_line_or_a_masthead_is_never_a_dump_title():
    """Reproduces issue 27: page dumps took "Home | World | Business | Sport | Opinion" for their title."""
    lines = [
        "Harbour Times",
        "Home | World | Business | Sport | Opinion",
        "Subscribe",
        "Port reopens after the long storm",
        "By Mary Major",
        "The port reopened on Monday after a storm closed it for three days, officials said on Monday.",
    ]
    assert find_title(lines) == ("Port reopens after the long storm", 3)


def test_a_dump_outlet_comes_from_its_masthead_else_its_url_domain():
    body = "Port reopens after the long storm\n" + "The port reopened on Monday after a storm closed it, officials said.\n" * 3
    article = parse_document(RawDocument("d", "d.jsonl:1", "text", body, url="https://www.news.harbour.co.uk/a/1"))
    assert article.source == "harbour.co.uk"
    assert parse_document(RawDocument("d", "d.txt", "text", body)).source is None


# ----------------------------------------------------------------------------------------- authors


def test_authors_are_people_and_an_agency_goes_apart():
    names, domain = ["Harbour Times"], "harbour.example"
    assert clean_authors(["Jane Doe (AP)"], names, domain) == (("Jane Doe",), "AP")
    assert clean_authors(["Reuters"], names, domain) == ((), "Reuters")
    assert clean_authors(["Harbour Times Staff", "Harbour Times"], names, domain) == ((), None)
    assert clean_authors(["Evan Orris, NBA.com"], names, domain) == (("Evan Orris",), None)
    assert clean_authors(["Lauren Manaker MS, RDN, LD"], names, domain) == (("Lauren Manaker",), None)
    assert clean_authors(["Greg Potts Published", "March 9"], names, domain) == (("Greg Potts",), None)
    assert clean_authors(["Ann Wood and Bo Lind; Ann Wood"], names, domain) == (("Ann Wood", "Bo Lind"), None)


def test_a_byline_link_after_the_headline_is_read_and_a_sidebar_is_not():
    before = '<aside><a href="/author/sidebar-sam">Sidebar Sam</a></aside>'
    raw = page(before=before, after='<div class="meta"><p>By <a href="/author/mary-major">Mary Major</a></p></div>')
    article = parse_document(raw)
    assert article.authors == ("Mary Major",)
