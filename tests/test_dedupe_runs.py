"""Dedupe across scheduled runs on the syndication dev corpus (read from ../shared at run time), with default
options: the corpus in two append runs (even files, then odd) puts the same pairs of files in one cluster
as one run over all of it (issue 24, item 6), and a rerun adds no article. Its documents mix dated pages
(published years ago) and undated ones, which take their ingestion time: the 7-day horizon compares
ingestion times when either side is undated (``index.within_horizon``)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.cli import run_command, summary_numbers, table
from tests.support.syndication import CORPUS, clusters_written, pair_scores, truth

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="needs ../shared/eval/syndication-dev-2")

EVEN, ODD = (str(CORPUS / "docs" / f"doc*[{digits}].txt") for digits in ("02468", "13579"))


def run(output, pattern, *extra):
    result = run_command("--input", pattern, "--output", str(output), *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return summary_numbers(result.stdout)


def clustered_pairs(output) -> set[tuple[str, str]]:
    labels = clusters_written(output)
    return {(a, b) for a, b in itertools.combinations(sorted(labels), 2) if labels[a] == labels[b]}


@pytest.fixture(scope="module")
def one_output(tmp_path_factory):
    output = tmp_path_factory.mktemp("one")
    run(output, str(CORPUS / "docs" / "*.txt"))
    return output


@pytest.fixture(scope="module")
def one_run(one_output):
    return pair_scores(clusters_written(one_output), truth())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    output = tmp_path_factory.mktemp("two")
    first = run(output, EVEN)
    second = run(output, ODD, "--write_mode", "append")
    return output, first, second


def test_two_scheduled_runs_cluster_as_one(one_output, one_run, two_runs):
    output, first, second = two_runs
    assert one_run["f1"] >= 0.97 and one_run["precision"] >= 0.97
    pairs = clustered_pairs(one_output)
    assert len(pairs) > 50 and clustered_pairs(output) == pairs  # the same pairs, not only the same scores
    assert first["documents read"] + second["documents read"] == len(truth())
    earlier = {row["article_id"] for row in table(output, "articles") if row["source_path"].endswith(tuple("02468.txt"))}
    later_copies = [row for row in table(output, "duplicates") if row["canonical_article_id"] in earlier]
    assert any(row["source_path"][-5] in "13579" for row in later_copies)  # odd files pointing at even-run articles


def test_rerunning_both_adds_no_row(two_runs):
    output, _, _ = two_runs
    before = {name: len(table(output, name)) for name in ("articles", "duplicates", "errors")}
    counts = [run(output, pattern, "--write_mode", "append") for pattern in (EVEN, ODD)]
    assert {name: len(table(output, name)) for name in before} == before
    assert sum(c["files skipped (seen)"] for c in counts) == len(truth())  # the read stage skips them


def test_a_renamed_copy_of_every_file_is_a_duplicate_of_its_earlier_article(two_runs, tmp_path):
    """Files the read stage has not seen (new paths), with texts the earlier runs wrote: every one that
    cleans is found in the dedupe index and points at the earlier cluster; no article is added."""
    import shutil

    output, _, _ = two_runs
    for path in sorted((CORPUS / "docs").glob("doc00[0-4]*.txt")):
        shutil.copy(path, tmp_path / f"again-{path.name}")
    articles = len(table(output, "articles"))
    counts = run(output, str(tmp_path / "*.txt"), "--write_mode", "append")
    assert counts["articles written"] == 0 and len(table(output, "articles")) == articles
    clusters = {row["article_id"]: row["cluster_id"] for name in ("articles", "duplicates") for row in table(output, name)}
    again = [row for row in table(output, "duplicates") if "again-" in row["source_path"]]
    assert len(again) == counts["duplicates"] > 0
    assert all(clusters[row["canonical_article_id"]] == row["cluster_id"] for row in again)


def test_the_readme_query_answers_who_ran_a_story_across_runs(two_runs):
    import re

    import duckdb

    from tests.support.cli import ROOT

    output, _, _ = two_runs
    readme = (ROOT / "README.md").read_text()
    query = re.search(r"```sql\n-- duckdb\n(.*?)```", readme, re.S).group(1).replace("'output/", f"'{output}/")
    stories = duckdb.sql(query).fetchall()
    written = len(table(output, "articles")) + len(table(output, "duplicates"))
    singles = len({row["cluster_id"] for row in table(output, "articles")}) - len(stories)
    assert sum(copies for _, copies, *_ in stories) + singles == written  # every copy in exactly one story
    for _cluster, copies, _outlets, first, _first_outlet, runs in stories:
        assert len(runs) == copies and (first is None or first == runs[0]["published_at"])


def test_the_quality_bench_cleans_the_corpus_as_a_run_does(one_output):
    from bench.dedupe_bench import cleaned_dev_corpus

    articles, _ = cleaned_dev_corpus()
    written = clusters_written(one_output)
    assert sorted(a.source_path.rsplit("/", 1)[-1] for a in articles) == sorted(written)
