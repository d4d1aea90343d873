"""The README's example queries, run against `make run`'s output (the seeds, default options)."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.support.cli import ROOT


def example_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block between the README's example-queries markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- example-queries", 1)[1].split("<!-- /example-queries -->", 1)[0]
    return re.findall(r"```(sql|python)\n(.*?)```", section, re.S)


@pytest.fixture
def make_run_output(seeds_run):
    """The folder holding what `make run` writes (`python -m pipelines.run --runner=DirectRunner`, the seeds,
    default options) as ``output/``: the session's seeds run (conftest.py)."""
    output, _ = seeds_run
    assert output.name == "output"
    return output.parent


def test_readme_has_five_example_queries():
    blocks = example_blocks()
    assert len(blocks) >= 5 and {language for language, _ in blocks} == {"sql", "python"}


@pytest.mark.parametrize("index", range(len(example_blocks())))
def test_readme_query_runs_and_finds_rows(index, make_run_output, monkeypatch):
    language, code = example_blocks()[index]
    monkeypatch.chdir(make_run_output)  # the README's paths are relative: output/...
    if language == "sql":
        rows = duckdb.sql(code).fetchall()
        assert rows, code
    else:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)
        frames = [value for value in namespace.values() if hasattr(value, "height")]
        assert frames and all(frame.height > 0 for frame in frames), code


def story_queries() -> list[str]:
    """The README's SQL blocks that count stories (they group copies by ``cluster_id``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [code for code in re.findall(r"```sql\n(.*?)```", text, re.S) if "cluster_id" in code]


def test_readme_story_queries_agree_with_the_tables_across_runs(tmp_path, monkeypatch):
    """On four append runs whose later copies point at earlier articles: every story's copies, first date
    and outlet (unknown said as such) and outlets, as the tables hold them (tests/support/stories.py)."""
    from tests.support.stories import stories, write_runs

    expected = {cluster: s for cluster, s in stories(write_runs(tmp_path / "output")).items() if s["copies"] > 1}
    monkeypatch.chdir(tmp_path)
    assert len(story_queries()) == 2
    for code in story_queries():
        result = duckdb.sql(code)
        rows = [dict(zip(result.columns, row)) for row in result.fetchall()]
        found = {row.get("cluster_id") or row["title"].removeprefix("Story "): row for row in rows}
        assert {cluster: {key: row[key] for key in expected[cluster]} for cluster, row in found.items()} == expected, code
