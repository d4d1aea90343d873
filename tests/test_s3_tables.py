"""``--table-format delta|iceberg`` on S3 (moto's server on 127.0.0.1, the ``s3`` fixture): one corpus read
from the bucket gives the same rows as a local dataset in both formats, through a first run, an append (a
copy found through the dedupe index) and an idempotent rerun; each run is one commit of the format, read
back by the formats' own readers (delta-rs, Polars ``scan_delta``, DuckDB over the Arrow dataset, pyiceberg);
two concurrent runs cannot both commit and the loser leaves nothing; compaction commits and cleans up."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from apache_beam.io.filesystems import FileSystems

from pipelines import read_table
from tests.support.cli import ROOT, SEEDS, run_command, summary_numbers
from transforms.sink import objects
from transforms.write import TABLES, commit
from transforms.write.tables import delta, iceberg, read, recorded

FORMATS = ("delta", "iceberg")
MODULES = {"delta": delta, "iceberg": iceberg}
SEED_FILES = sorted(SEEDS.glob("*.txt"))


def rows(table) -> list:
    """A table's rows on the pipeline's columns, sorted (order and extra columns aside)."""
    return sorted(map(repr, table.select(table.schema.names).to_pylist()))


def all_rows(output: str, reader=read_table) -> dict[str, list]:
    return {name: rows(reader(output, name).select(TABLES[name].names)) for name in TABLES}


def format_flags(fmt: str, folder) -> list[str]:
    if fmt == "iceberg":
        return ["--table-format=iceberg", f"--iceberg-catalog=sqlite:///{folder}/catalog.db"]
    return ["--table-format=delta"]


@pytest.fixture(scope="module")
def corpus(s3):
    """The first run's input (three seeds and a binary file: an error row) and the append's (the other
    seeds and a copy of the first seed under another name), in a bucket."""
    bucket = s3.bucket("tables")
    client = s3.client()
    for seed in SEED_FILES[:3]:
        client.put_object(Bucket="tables", Key=f"in/first/{seed.name}", Body=seed.read_bytes())
    client.put_object(Bucket="tables", Key="in/first/binary.txt", Body=bytes(range(256)) * 8)
    for seed in SEED_FILES[3:]:
        client.put_object(Bucket="tables", Key=f"in/second/{seed.name}", Body=seed.read_bytes())
    client.put_object(Bucket="tables", Key="in/second/copy-of-first.txt", Body=SEED_FILES[0].read_bytes())
    return bucket, {step: f"{bucket}/in/{step}/*" for step in ("first", "second")}


def steps(inputs: dict) -> list[tuple[str, ...]]:
    return [(inputs["first"],), (inputs["second"], "--write_mode=append"), (inputs["second"], "--write_mode=append")]


@pytest.fixture(scope="module")
def local(s3, corpus, tmp_path_factory):
    """The rows of a local dataset (plain Parquet) after the first run and the append, from the same input."""
    _, inputs = corpus
    output = str(tmp_path_factory.mktemp("local"))
    found = []
    for pattern, *extra in steps(inputs)[:2]:
        result = run_command(f"--input={pattern}", f"--output={output}", "-q", *extra, *s3.flags())
        assert result.returncode == 0, result.stderr[-2000:]
        found.append(all_rows(output))
    return found


@pytest.fixture(scope="module")
def published(s3, corpus, tmp_path_factory):
    """Each format's dataset on S3 after the first run, the append and the rerun: (output, summaries,
    Hive rows after each, the format's rows after each)."""
    bucket, inputs = corpus
    done = {}
    for fmt in FORMATS:
        output = f"{bucket}/{fmt}"
        flags = format_flags(fmt, tmp_path_factory.mktemp(fmt))
        summaries, hive, table = [], [], []
        for n, (pattern, *extra) in enumerate(steps(inputs)):
            result = run_command(f"--input={pattern}", f"--output={output}", "-q", *(flags if n == 0 else []), *extra, *s3.flags())
            assert result.returncode == 0, result.stderr[-2000:]
            summaries.append(summary_numbers(result.stdout))
            FileSystems.set_options(s3.options())
            hive.append(all_rows(output))
            table.append(all_rows(output, read))
        done[fmt] = (output, summaries, hive, table)
    return done


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_on_s3_holds_the_local_rows_run_after_run(published, local, fmt):
    output, summaries, hive, table = published[fmt]
    assert hive[:2] == local and table == hive  # the format's table holds the committed version, row for row
    assert hive[2] == hive[1] and summaries[2]["files skipped (seen)"] == len(SEED_FILES) - 3 + 1  # the rerun
    assert len(hive[0]["errors"]) == 1 and len(hive[1]["duplicates"]) == len(hive[0]["duplicates"]) + 1
    where = recorded(output)
    assert where.format == fmt
    committed = [run for run, *_ in MODULES[fmt].runs(where, "articles")]
    assert (
        sorted(committed) == sorted(commit.committed_versions(output)) and len(set(committed)) == 3
    )  # one commit per run, the rerun's empty
    assert all_rows(output, lambda o, t: read(o, t, as_of=committed[0])) == hive[0]  # time travel


def test_native_readers_on_s3(published):
    """Delta: delta-rs, Polars and DuckDB (over delta-rs's Arrow dataset) with the store's settings;
    Iceberg: pyiceberg's own catalog and scan."""
    output, _, hive, _ = published["delta"]
    options = objects.delta_storage_options()
    uri = delta.table_uri(output, "articles")
    expected = hive[-1]["articles"]
    from deltalake import DeltaTable

    table = DeltaTable(uri, storage_options=options)
    assert rows(table.to_pyarrow_table().select(TABLES["articles"].names)) == expected
    frame = pl.scan_delta(uri, storage_options=options).select("article_id").collect()
    assert sorted(frame["article_id"].to_list()) == sorted(table.to_pyarrow_table().column("article_id").to_pylist())
    dataset = table.to_pyarrow_dataset()  # noqa: F841 (DuckDB reads it by name)
    assert duckdb.sql("select count(*) from dataset").fetchall() == [(len(expected),)]

    output, _, hive, _ = published["iceberg"]
    where = recorded(output)
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("news", uri=where.catalog, **objects.iceberg_properties())
    scanned = catalog.load_table(("news", "articles")).scan().to_arrow()
    assert len(scanned) == len(hive[-1]["articles"])
    assert sorted(scanned.column("article_id").to_pylist()) == sorted(
        read_table(output, "articles").column("article_id").to_pylist()
    )


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.run", "--runner=DirectRunner", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_concurrent_writers_with_a_format_on_s3_one_commits_the_loser_leaves_nothing(s3, corpus, fmt, tmp_path):
    bucket, inputs = corpus
    output = f"{bucket}/race-{fmt}"
    flags = [f"--input={inputs['first']}", f"--output={output}", "-q", *format_flags(fmt, tmp_path), *s3.flags()]
    runs = [_start(*flags) for _ in range(2)]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    assert "another run" in next(err for code, err in results if code == 2)
    FileSystems.set_options(s3.options())
    current = commit.current_version(output)
    folders = {k.split("/_versions/")[1].split("/")[0] for k in s3.keys(output) if "/_versions/" in k}
    assert folders == {current}  # the loser left no version behind
    table_files = [k for k in s3.keys(output) if k.endswith(".parquet") and f"/_{fmt}/" in k]
    assert table_files and all(current in k for k in table_files)  # and no file in the format's tables
    assert [run for run, *_ in MODULES[fmt].runs(recorded(output), "articles")] == [current]
    assert all_rows(output, read) == all_rows(output)


@pytest.mark.parametrize("fmt", FORMATS)
def test_compaction_with_a_format_on_s3_commits_and_cleans_up(published, s3, corpus, fmt):
    """The compaction is one commit of the format, rows unchanged; ``--retain 1s`` then deletes the
    format's files no kept version reads (Delta vacuum; Iceberg's expired snapshots' files). On the
    published datasets, so the module's last test: the others read them as the runs left them."""
    from pipelines.compact import main as compact

    bucket, _ = corpus
    output, *_ = published[fmt]
    FileSystems.set_options(s3.options())
    before = all_rows(output)
    where = recorded(output)
    catalog = [f"--iceberg-catalog={where.catalog}"] if fmt == "iceberg" else []
    assert compact([output, "--retain", "1s", *s3.flags(), *catalog]) == 0
    assert all_rows(output, read) == before == all_rows(output)
    assert MODULES[fmt].runs(where, "articles")[-1][0] == commit.current_version(output)
    stored = {f"{bucket}/{k}" for k in s3.keys(output) if f"/_{fmt}/articles/" in k and k.endswith(".parquet")}
    assert stored == current_files(where, fmt) and stored  # what no kept version reads is gone, nothing else


def current_files(where, fmt: str) -> set[str]:
    """The data files the format's current version of ``articles`` reads, as full paths."""
    if fmt == "delta":
        return set(delta.open_table(where.output, "articles").file_uris())
    table = iceberg.catalog(where).load_table(("news", "articles"))
    return {task.file.file_path for task in table.scan().plan_files()}
