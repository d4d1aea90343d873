"""--hosts, --languages, --published-after/--published-before: each a counted skip, in the stage that
knows its fact; a document without the fact passes."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.filters import FilterSettings, date_bound, host_rules, languages
from transforms.parse import parse_document
from transforms.schema import Body, RawDocument
from transforms.stage import Skip

UTC = dt.UTC


@pytest.mark.parametrize(
    "rules, url, kept",
    [
        (["example.com"], "https://www.example.com/a", True),
        (["example.com"], "https://example.com/a", True),
        (["example.com"], "https://badexample.com/a", False),  # a suffix of whole labels, not of characters
        (["example.com"], None, False),  # no URL: not shown to be on an allowed host
        (["-ads.example.com"], "https://x.ads.example.com/", False),
        (["-ads.example.com"], "https://news.example.com/", True),  # denials alone keep the rest
        (["-ads.example.com"], None, True),
        (["example.com,-ads.example.com", "other.org"], "https://ads.example.com/", False),
        (["example.com,-ads.example.com", "other.org"], "https://www.other.org/", True),
    ],
)
def test_hosts_allow_and_deny_by_suffix(rules, url, kept):
    assert (FilterSettings(hosts=rules).host_skip(url) is None) == kept


def test_dates_bound_the_parsed_publication_and_pass_the_undated():
    window = FilterSettings(published_after=date_bound("2024-01-01"), published_before=date_bound("2024-02-01T00:00:00+01:00"))
    assert window.published_skip(dt.datetime(2023, 12, 31, 23, 59, tzinfo=UTC)) == Skip("published")
    assert window.published_skip(dt.datetime(2024, 1, 31, 22, 59, tzinfo=UTC)) is None
    assert window.published_skip(dt.datetime(2024, 1, 31, 23, 0, tzinfo=UTC)) == Skip("published")
    assert window.published_skip(None) is None


def test_languages_skip_others_and_pass_the_undetected():
    only = FilterSettings(languages=["en,fr", "de"])
    assert only.language_skip("ru") == Skip("language") and only.language_skip("de") is None
    assert only.language_skip(None) is None


@pytest.mark.parametrize("parse, value", [(host_rules, "exa mple.com"), (languages, "english"), (date_bound, "soon")])
def test_bad_values_are_refused_with_an_example(parse, value):
    with pytest.raises(ValueError, match="e.g."):
        parse(value)


def test_parse_skips_a_document_outside_the_dates_and_one_of_a_host_filtered_out():
    text = "A Title\n\nPublished 2019-05-04\n\n" + "Words of a story that runs long enough to be an article. " * 10
    raw = RawDocument("id", "/in/a.txt", Body.TEXT, text, url="https://news.example.com/a", published="2019-05-04")
    assert parse_document(raw, filters=FilterSettings(published_after=date_bound("2020-01-01"))) == Skip("published")
    assert parse_document(raw, filters=FilterSettings(hosts=["-example.com"])) == Skip("host")
    assert parse_document(raw, filters=FilterSettings(published_after=date_bound("2019-01-01"))).url == raw.url


def test_a_day_bound_reads_the_publishers_day_and_a_time_bound_the_instant():
    """``--published-before 2024-02-01`` keeps what the January folders hold, whatever the offset."""
    evening_new_york = dt.datetime(2024, 1, 31, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # Feb 1 in UTC
    morning_tokyo = dt.datetime(2024, 2, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # Jan 31 in UTC
    by_day = FilterSettings(published_before=date_bound("2024-02-01"))
    assert by_day.published_skip(evening_new_york) is None
    assert by_day.published_skip(morning_tokyo) == Skip("published")
    by_time = FilterSettings(published_before=date_bound("2024-02-01T00:00:00Z"))
    assert by_time.published_skip(evening_new_york) == Skip("published")
    assert by_time.published_skip(morning_tokyo) is None
