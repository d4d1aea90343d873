"""Columns added without loss: an append onto a dataset an earlier release wrote (``tests/fixtures/
previous_release``, made by ``make_previous_release.py`` beside it: today's files less the ``tone``
column) succeeds and keeps every earlier row, the dedupe index, the file digests and the state; every
file then has today's schema."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq

from pipelines import read_table
from tests.support.cli import ROOT, run_command, summary_numbers
from transforms.dedupe.index import INDEX
from transforms.write.commit import VERSIONS, current_version
from transforms.write.parquet import TABLES

FIXTURE = ROOT / "tests" / "fixtures" / "previous_release"


def test_append_onto_the_previous_release_adds_the_column_and_keeps_everything(tmp_path):
    output = tmp_path / "news"
    shutil.copytree(FIXTURE, output, symlinks=True)
    earlier = current_version(str(output))
    old_ids = set(read_table(str(output), "articles").column("article_id").to_pylist())
    assert old_ids and "tone" not in pq.read_schema(next((output / "articles").rglob("*.parquet"))).names

    result = run_command("--input=seeds/*.txt", f"--output={output}", "--write_mode=append")
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = summary_numbers(result.stdout)
    assert numbers["files skipped (seen)"] == 2  # the file digests were kept: the two files read before
    run = current_version(str(output))
    assert run != earlier
    manifest = json.loads((output / VERSIONS / run / "_manifest.json").read_text())
    assert manifest["migrated"] == {"articles": 1, "entities": 1}  # tone, and the layout before the date column

    articles = read_table(str(output), "articles")
    assert old_ids <= set(articles.column("article_id").to_pylist())  # every earlier row kept
    tone = dict(zip(articles.column("article_id").to_pylist(), articles.column("tone").to_pylist()))
    assert all(tone[i] is None for i in old_ids) and any(v is not None for i, v in tone.items() if i not in old_ids)
    for path in (output / "articles").rglob("*.parquet"):  # one schema for every reader that globs
        assert pq.read_schema(path).remove_metadata().equals(TABLES["articles"])
    earlier_index = {p.name for p in (output / VERSIONS / earlier / "_state" / INDEX).rglob("*.parquet")}
    now_index = {p.name for p in (output / "_state" / INDEX).rglob("*.parquet")}
    assert earlier_index < now_index  # the dedupe index kept, and added to

    again = run_command("--input=seeds/*.txt", f"--output={output}", "--write_mode=append")
    assert again.returncode == 0 and summary_numbers(again.stdout)["files skipped (seen)"] == 5
    assert read_table(str(output), "articles").num_rows == articles.num_rows
