"""An article's identity is its content within its source (issue 22, items 6 and 9): a path read again
yields one row per distinct document, whatever the file state says, and a lost dedupe index is refused
before it lets earlier copies in as new articles."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.support.corpus import story
from transforms.read import read_documents

RNG = random.Random(22)
STORIES = ["\n\n".join(story(RNG)[1]) for _ in range(6)]


def line(text: str, n: int) -> str:
    return json.dumps({"title": f"Story {n}", "text": text, "url": f"https://news.example.com/{n}"})


def rows(output: Path, table: str) -> list[dict]:
    return ds.dataset(output / table, partitioning="hive").to_table().to_pylist() if (output / table).exists() else []


def ids_written(output: Path) -> list[str]:
    return [row["article_id"] for table in ("articles", "duplicates") for row in rows(output, table)]


def run(inputs: Path, output: Path):
    from pipelines import run_pipeline

    result = run_pipeline(input=[f"{inputs}/*"], output=str(output), write_mode="append", quiet=True, dedupe_horizon="36500d")
    assert result.committed, result.summary
    return result


def test_a_document_s_id_is_its_content_within_its_source():
    one = [d.doc_id for d in read_documents("a.jsonl", "\n".join([line(STORIES[0], 0), line(STORIES[1], 1)]).encode())]
    grown = [d.doc_id for d in read_documents("a.jsonl", "\n".join([line(STORIES[3], 9), *[line(s, n) for n, s in enumerate(STORIES[:2])]]).encode())]
    assert one == grown[1:] and grown[0] not in one  # a line keeps its id wherever it moves in the file
    twice = [d.doc_id for d in read_documents("a.jsonl", "\n".join([line(STORIES[0], 0)] * 2).encode())]
    assert len(set(twice)) == 2  # the same line twice in one file: two documents (the second an exact copy)
    [first] = read_documents("b.txt", STORIES[0].encode())
    [other] = read_documents("b.txt", STORIES[1].encode())
    [elsewhere] = read_documents("c.txt", STORIES[0].encode())
    assert len({first.doc_id, other.doc_id, elsewhere.doc_id}) == 3


def test_a_path_read_again_adds_one_row_per_new_document(tmp_path):
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    feed = inputs / "a.jsonl"
    feed.write_text("".join(line(STORIES[n], n) + "\n" for n in range(3)))
    (inputs / "b.txt").write_text(STORIES[3])
    run(inputs, output)
    first_b = {row["source_path"]: row["article_id"] for row in rows(output, "articles")}[str(inputs / "b.txt")]

    with feed.open("a") as handle:  # the file grows
        handle.write(line(STORIES[4], 4) + "\n")
    grown = run(inputs, output)
    assert grown.counts["documents_read"] == 1 and grown.counts["already_ingested"] == 3
    assert len(ids_written(output)) == len(set(ids_written(output))) == 5

    corrected = STORIES[1].replace(".", ";", 1)  # a corrected line: its own id, a copy of the first
    feed.write_text("".join(line(text, n) + "\n" for n, text in [(0, STORIES[0]), (1, corrected), (2, STORIES[2]), (4, STORIES[4])]))
    (inputs / "b.txt").write_text(STORIES[5])  # another story at the same path
    changed = run(inputs, output)
    assert changed.counts["documents_read"] == 2 and changed.counts["already_ingested"] == 3
    assert len(ids_written(output)) == len(set(ids_written(output))) == 7
    by_path = {}
    for row in rows(output, "articles"):
        by_path.setdefault(row["source_path"], []).append(row["article_id"])
    assert len(by_path[str(inputs / "b.txt")]) == 2 and first_b in by_path[str(inputs / "b.txt")]

    shutil.rmtree(output / "_state" / "files")  # the file state lost: every document is known all the same
    again = run(inputs, output)
    assert again.counts["documents_read"] == 0 and again.counts["already_ingested"] == 5
    assert len(ids_written(output)) == 7
    assert not list(output.rglob("_parcels-*"))  # every run's parked records removed, a run that kept none too


def test_a_lost_dedupe_index_is_refused_then_rebuilt(tmp_path):
    from pipelines.checks import UsageError

    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "a.jsonl").write_text("".join(line(STORIES[n], n) + "\n" for n in range(3)))
    (inputs / "copy.txt").write_text(STORIES[0])
    run(inputs, output)
    assert len(rows(output, "articles")) == 3 and len(rows(output, "duplicates")) == 1

    shutil.rmtree(output / "_state" / "dedupe")
    shutil.rmtree(output / "_state" / "files")
    with pytest.raises(UsageError, match="python -m pipelines.reindex"):
        run(inputs, output)
    from pipelines.reindex import main as reindex

    assert reindex([str(output)]) == 0
    again = run(inputs, output)
    assert again.counts["documents_read"] == 0 and again.counts["already_ingested"] == 4
    (inputs / "later-copy.txt").write_text(STORIES[1])
    later = run(inputs, output)
    assert later.counts["duplicates"] == 1  # a copy of an article the rebuilt index holds
    assert len(rows(output, "articles")) == 3
