"""The command with ``--table-format parquet``, ``delta`` and ``iceberg`` over one corpus: the same rows in
all three (the Hive files and the formats' own tables), through a first run, an append whose copy of an
earlier article the dedupe index finds, an idempotent rerun, a failed run and a compaction."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipelines.compact import main as compact
from tests.support.cli import SEEDS, run_command, summary_numbers
from transforms.write import TABLES
from transforms.write.tables import delta, iceberg, read, recorded

FORMATS = ("parquet", "delta", "iceberg")
MODULES = {"delta": delta, "iceberg": iceberg}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Three folders: a first run's (three seeds and a binary file: an error row), an append's (the other
    seeds and a copy of the first seed under another name), and only bad files (a run that fails)."""
    root = tmp_path_factory.mktemp("inputs")
    seeds = sorted(SEEDS.glob("*.txt"))
    folders = {name: root / name for name in ("first", "second", "bad")}
    for folder in folders.values():
        folder.mkdir()
    for seed in seeds[:3]:
        shutil.copy(seed, folders["first"])
    (folders["first"] / "binary.txt").write_bytes(bytes(range(256)) * 8)
    for seed in seeds[3:]:
        shutil.copy(seed, folders["second"])
    shutil.copy(seeds[0], folders["second"] / "copy-of-first.txt")
    for n in range(2):
        (folders["bad"] / f"bad{n}.txt").write_bytes(bytes(range(256)) * (8 + n))
    return {name: str(folder / "*") for name, folder in folders.items()}


def run(output, pattern, *extra):
    result = run_command("--input", pattern, "--output", str(output), "-q", *extra)
    return result.returncode, summary_numbers(result.stdout), result.stderr[-2000:]


def columns(table: str) -> str:
    return ", ".join(f'"{name}"' for name in TABLES[table].names)


def format_rows(output, as_of=None) -> dict[str, list]:
    """Every table as the format's own reader gives it (``read``), through DuckDB, on the pipeline's columns."""
    rows = {}
    for table in TABLES:
        found = read(str(output), table, as_of=as_of)  # noqa: F841 (DuckDB reads it by name)
        rows[table] = sorted(map(repr, duckdb.sql(f"select {columns(table)} from found").fetchall()))
    return rows


def hive_rows(output) -> dict[str, list]:
    """Every table as a reader that globs the Hive files sees it (tests.support.cli.dataset_rows), on the
    pipeline's columns: not the partition column, which only the path holds."""
    rows = {}
    for table in TABLES:
        query = f"select {columns(table)} from read_parquet('{output}/{table}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        rows[table] = sorted(map(repr, duckdb.sql(query).fetchall()))
    return rows


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, inputs):
    """Each format's dataset after the first run, the append and the rerun: (summaries, rows after each)."""
    done = {}
    for fmt in FORMATS:
        output = tmp_path_factory.mktemp(fmt)
        steps = [
            (inputs["first"], "--table-format", fmt),
            (inputs["second"], "--write_mode", "append"),
            (inputs["second"], "--write_mode", "append"),
        ]
        summaries, rows = [], []
        for pattern, *extra in steps:
            code, numbers, stderr = run(output, pattern, *extra)
            assert code == 0, stderr
            summaries.append(numbers)
            rows.append(hive_rows(output))
            if fmt != "parquet":
                assert format_rows(output) == rows[-1]  # the format's table holds the committed version, row for row
        done[fmt] = (output, summaries, rows)
    return done


def test_three_formats_hold_the_same_rows_run_after_run(outputs):
    (_, parquet_summaries, parquet_rows), *others = outputs.values()
    for _, summaries, rows in others:
        assert summaries == parquet_summaries and rows == parquet_rows
    first, second, rerun = parquet_rows
    assert len(first["errors"]) == 1 and len(first["articles"]) >= 2
    assert len(second["duplicates"]) == len(first["duplicates"]) + 1  # the copy, found through the dedupe index
    assert rerun == second and parquet_summaries[2]["files skipped (seen)"] == 3


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_each_committed_run_is_one_version_of_the_format(outputs, fmt):
    output, _, rows = outputs[fmt]
    runs = sorted(path.stem for path in (output / "_runs").glob("*.json"))
    assert len(runs) == 3 and recorded(str(output)).format == fmt
    where = recorded(str(output))
    committed = [run for run, *_ in MODULES[fmt].runs(where, "articles")]
    assert sorted(committed) == runs and len(set(committed)) == 3
    assert format_rows(output, as_of=committed[0]) == rows[0]  # time travel to the first run


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_a_failed_run_adds_nothing_and_compaction_keeps_the_rows(outputs, inputs, fmt):
    output, _, rows = outputs[fmt]
    where = recorded(str(output))
    before = MODULES[fmt].runs(where, "articles")
    code, _, stderr = run(output, inputs["bad"], "--write_mode", "append")
    assert code == 1 and "not committed" in stderr
    assert MODULES[fmt].runs(where, "articles") == before and format_rows(output) == rows[-1]

    assert compact([str(output), "--retain", "1s"]) == 0
    assert format_rows(output) == rows[-1] == hive_rows(output)
    manifest = json.loads((output / "_manifest.json").read_text())
    assert "compaction" in manifest
    after = MODULES[fmt].runs(where, "articles")
    assert after[-1][0] == manifest["run_id"]  # the compaction's own commit
    if fmt == "delta":  # vacuum deletes files, not the log: the earlier versions are listed, unreadable
        assert after[:-1] == before
    else:  # snapshots older than --retain expired: only the compaction's is left
        assert len(after) == 1
