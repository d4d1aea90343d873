"""Dedupe does not depend on how the input is batched (issue 24, item 6), with default options: the second
syndication dev corpus (read from ../shared at run time) in one run and as two scheduled append runs (even
files, then odd) puts the same pairs of files in one cluster. Its documents mix dated pages (published
years ago) and undated ones, which take their ingestion time: the horizon compares ingestion times when
either side is undated (``index.within_horizon``)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.cli import SHARED, run_command
from tests.support.syndication import clusters_written

CORPUS = SHARED / "eval" / "syndication-dev-2"
pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="needs ../shared/eval/syndication-dev-2")


def run(output, pattern, *extra):
    result = run_command("--input", pattern, "--output", str(output), *extra)  # default options: the 7-day horizon
    assert result.returncode == 0, result.stderr[-3000:]


def clustered_pairs(output) -> set[tuple[str, str]]:
    labels = clusters_written(output)
    return {(a, b) for a, b in itertools.combinations(sorted(labels), 2) if labels[a] == labels[b]}


def test_one_run_and_two_append_runs_find_the_same_pairs(tmp_path):
    docs = CORPUS / "docs"
    run(tmp_path / "one", str(docs / "*.txt"))
    for digits, mode in (("02468", "overwrite"), ("13579", "append")):
        run(tmp_path / "two", str(docs / f"doc*[{digits}].txt"), "--write_mode", mode)
    one = clustered_pairs(tmp_path / "one")
    assert len(one) > 50  # the corpus's stories have copies: the comparison means something
    assert clustered_pairs(tmp_path / "two") == one
