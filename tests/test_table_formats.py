"""``--table-format delta|iceberg``: a version's files published as one commit per table and run, read back
by the formats' own readers, with time travel by run id, overwrites, compaction and a column added by a
later release. In-process over hand-written versions; tests/test_table_format_runs.py runs the command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from pipelines.run import main
from tests.support.cli import SEEDS
from transforms.schema import Article, Duplicate, Entity, ErrorRecord
from transforms.write.parquet import TABLES, table_batches, table_folder, write_empty_table, write_parquet
from transforms.write.tables import (
    DELTA,
    ICEBERG,
    PARQUET,
    Published,
    TableFormatError,
    TableSettings,
    delta,
    iceberg,
    maintain,
    publish,
    read,
    resolve,
)

FORMATS = (DELTA, ICEBERG)
MODULES = {DELTA: delta, ICEBERG: iceberg}


def article(n: int, month: int | None, **extra) -> Article:
    """Article ``n``, published in ``month`` of 2024 (None: undated): one month a partition."""
    published = None if month is None else dt.datetime(2024, month, 5, 10, n, 7, 123456, tzinfo=dt.UTC)
    entities = (
        Entity(f"Person {n}", "PERSON", 0, 8, f"Person {n}"),
        Entity("Paris", "GPE", 9, 14, "Paris", "FR", 48.85, 2.35, 2988507, "city"),
    )
    return Article(
        f"a{n}",
        f"in/{n}.txt",
        f"https://example.com/{n}",
        "Example",
        f"Title {n}",
        ("Ann",),
        published,
        "en",
        f"text {n}",
        "text",
        entities=entities,
        **extra,
    )


def write_run(root: Path, run_id: str, records: list) -> None:
    """A run's files in a version, as the writer lays them out: one file per table and partition."""
    grouped: dict[tuple[str, str | None], list[dict]] = {}
    for record in records:
        for table, partition, rows in table_batches(record):
            grouped.setdefault((table, partition), []).extend(rows)
    for (table, partition), rows in grouped.items():
        write_parquet(f"{table_folder(str(root), table, partition)}/part-{run_id}-00000.parquet", rows, TABLES[table])
    for table in TABLES:  # what ensure_tables leaves for a table without rows
        if not (root / table).exists():
            write_empty_table(str(root), table, run_id)


def hive_rows(root: Path, table: str) -> list[str]:
    """A table's rows in the version, as a Hive reader sees them, on the pipeline's columns."""
    found = ds.dataset(root / table, partitioning="hive", schema=None).to_table().select(TABLES[table].names)
    return sorted(map(repr, found.to_pylist()))


def rows(found: pa.Table, table: str) -> list[str]:
    return sorted(map(repr, found.select(TABLES[table].names).to_pylist()))


FIRST = [
    article(1, 4),
    article(2, 5),
    article(3, None),
    Duplicate("d1", "in/9.txt", None, None, "c", "a1", 1.0),
    ErrorRecord.of("in/x.bin", "read", "binary"),
]
SECOND = [article(4, 5), article(5, 6)]


def commits(where: Published, table: str) -> int:
    if where.format == DELTA:
        return DeltaTable(delta.table_uri(where.output, table)).version() + 1
    return len(iceberg.catalog(where).load_table(("news", table)).snapshots())


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_run_is_one_commit_per_table_and_reads_back_its_version(tmp_path, fmt):
    output, root = tmp_path / "out", tmp_path / "version"
    where = resolve(str(output), TableSettings(table_format=fmt))
    write_run(root, "run1", FIRST)
    publish(where, str(root), "run1")
    first = {table: hive_rows(root, table) for table in TABLES}
    assert {table: rows(read(str(output), table), table) for table in TABLES} == first
    assert len(first["articles"]) == 3 and len(first["entities"]) == 6 and len(first["errors"]) == 1

    write_run(root, "run2", SECOND)  # an append: the version holds the first run's files and these
    publish(where, str(root), "run2")
    publish(where, str(root), "run3")  # a rerun that added nothing: a commit all the same, so run3 names a version
    assert all(commits(where, table) == 3 for table in TABLES)
    assert rows(read(str(output), "articles"), "articles") == hive_rows(root, "articles")
    assert len(hive_rows(root, "articles")) == 5
    assert rows(read(str(output), "articles", as_of="run1"), "articles") == first["articles"]  # time travel by run
    assert [run for run, *_ in MODULES[fmt].runs(where, "articles")] == ["run1", "run2", "run3"]
    with pytest.raises(TableFormatError, match="no .* of run 'nope'"):
        read(str(output), "articles", as_of="nope")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_overwrite_and_a_compaction_replace_files_in_one_commit(tmp_path, fmt):
    output = tmp_path / "out"
    where = resolve(str(output), TableSettings(table_format=fmt))
    write_run(tmp_path / "v1", "run1", FIRST)
    publish(where, str(tmp_path / "v1"), "run1")
    write_run(tmp_path / "v2", "run2", SECOND)  # an overwrite: a version that starts empty
    publish(where, str(tmp_path / "v2"), "run2")
    assert rows(read(str(output), "articles"), "articles") == hive_rows(tmp_path / "v2", "articles")
    assert read(str(output), "errors").num_rows == 0 and commits(where, "errors") == 2

    compacted = tmp_path / "v3"  # the same rows in one file per partition, as pipelines.compact leaves them
    write_run(compacted, "compact", SECOND)
    publish(where, str(compacted), "compact", data_change=False)
    assert rows(read(str(output), "articles"), "articles") == hive_rows(compacted, "articles")
    assert rows(read(str(output), "articles", as_of="run1"), "articles") == hive_rows(tmp_path / "v1", "articles")
    if fmt == DELTA:
        last = DeltaTable(delta.table_uri(str(output), "articles")).history(1)[0]
        assert last["operationParameters"]["mode"] == "Append" and last["news.run_id"] == "compact"

    deleted = maintain(str(output), 0)  # nothing retained: the files only earlier versions read are deleted
    assert deleted["articles"] == 3 + 2  # run1's three partitions, run2's two (replaced by the compaction's)
    assert rows(read(str(output), "articles"), "articles") == hive_rows(compacted, "articles")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_column_added_by_a_later_release_is_added_to_the_table(tmp_path, fmt, monkeypatch):
    output, root = tmp_path / "out", tmp_path / "version"
    where = resolve(str(output), TableSettings(table_format=fmt))
    today = TABLES["articles"]
    older = pa.schema([f for f in today if f.name != "tone"])  # the release before had no tone column
    monkeypatch.setitem(TABLES, "articles", older)
    write_run(root, "old", FIRST)
    publish(where, str(root), "old")
    assert "tone" not in read(str(output), "articles").column_names
    monkeypatch.setitem(TABLES, "articles", today)
    write_run(root, "new", [dataclasses.replace(article(6, 7), tone=0.5)])
    publish(where, str(root), "new")
    found = read(str(output), "articles").to_pylist()
    assert sorted((r["article_id"], r["tone"]) for r in found) == [("a1", None), ("a2", None), ("a3", None), ("a6", 0.5)]


def test_delta_is_read_by_polars_and_duckdb_and_skips_files_by_publication_time(tmp_path):
    output, root = tmp_path / "out", tmp_path / "version"
    write_run(root, "run1", FIRST + SECOND)
    publish(resolve(str(output), TableSettings(table_format=DELTA)), str(root), "run1")
    uri = delta.table_uri(str(output), "articles")
    assert pl.scan_delta(uri).select(pl.len()).collect().item() == 5
    assert sorted(pl.scan_delta(uri).filter(pl.col("published_at").dt.month() == 5).collect()["article_id"]) == ["a2", "a4"]
    dataset = DeltaTable(uri).to_pyarrow_dataset()  # noqa: F841 (DuckDB reads it by name)
    assert duckdb.sql("select count(*), count(published_at) from dataset").fetchall() == [(5, 4)]
    actions = pa.table(DeltaTable(uri).get_add_actions(flatten=True)).to_pylist()
    assert sorted(a["num_records"] for a in actions) == [1, 1, 1, 2]
    since = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    kept = DeltaTable(uri).file_uris([("published_at", ">=", since)])  # files skipped by their statistics
    assert len(kept) == 1 and "published_month=2024-06" in kept[0]


def test_iceberg_articles_are_partitioned_by_publication_month(tmp_path):
    output, root = tmp_path / "out", tmp_path / "version"
    where = resolve(str(output), TableSettings(table_format=ICEBERG))
    write_run(root, "run1", FIRST + SECOND)
    publish(where, str(root), "run1")
    table = iceberg.catalog(where).load_table(("news", "articles"))
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("published_month", "month")]
    scan = table.scan(row_filter="published_at >= '2024-06-01T00:00:00+00:00'")
    assert [task.file.file_path.split("/")[-2] for task in scan.plan_files()] == ["published_month=2024-06"]
    assert scan.to_arrow()["article_id"].to_pylist() == ["a5"]
    undated = table.scan(row_filter="published_at is null").to_arrow()
    assert undated["article_id"].to_pylist() == ["a3"]


def test_delta_statistics_bound_every_row():
    """A timestamp maximum cut to milliseconds would let a reader skip the file holding the row."""
    path = pa.BufferOutputStream()
    moment = dt.datetime(2024, 3, 5, 10, 0, 0, 999001, tzinfo=dt.UTC)
    table = pa.table(
        {"at": pa.array([moment, None], pa.timestamp("us", tz="UTC")), "n": pa.array([3, 9], pa.int32()), "s": ["a", "b"]}
    )
    pq.write_table(table, path)
    stats = delta.file_stats(pq.ParquetFile(pa.BufferReader(path.getvalue())).metadata)
    assert stats["numRecords"] == 2 and stats["nullCount"] == {"at": 1, "n": 0, "s": 0}
    assert stats["minValues"] == {"at": "2024-03-05T10:00:00.999Z", "n": 3}
    assert stats["maxValues"] == {"at": "2024-03-05T10:00:01.000Z", "n": 9}


def test_a_dataset_keeps_its_format(tmp_path):
    output = str(tmp_path / "out")
    assert resolve(output).format == PARQUET  # a new dataset: plain Parquet unless asked
    write_run(tmp_path / "version", "run1", FIRST)
    publish(resolve(output, TableSettings(table_format=DELTA)), str(tmp_path / "version"), "run1")
    assert resolve(output).format == DELTA  # later runs follow without the option
    for other in (PARQUET, ICEBERG):
        with pytest.raises(TableFormatError, match="published as delta tables.*--table-format delta"):
            resolve(output, TableSettings(table_format=other))
    with pytest.raises(TableFormatError, match="a stream has no end of run"):
        resolve(output, streaming=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_run_killed_after_its_table_commit_is_taken_out_by_the_next(tmp_path, fmt):
    """Killed between the table's commit and the pointer's move: the tables hold a run the dataset does not;
    the next run's version is the committed one plus its own files, and its commit drops the dead run's."""
    output = str(tmp_path / "out")
    where = resolve(output, TableSettings(table_format=fmt))
    write_run(tmp_path / "committed", "run1", FIRST)
    publish(where, str(tmp_path / "committed"), "run1")
    shutil.copytree(tmp_path / "committed", tmp_path / "killed")
    write_run(tmp_path / "killed", "dead", SECOND)
    publish(where, str(tmp_path / "killed"), "dead")  # then killed: the pointer still names run1's version
    write_run(tmp_path / "committed", "run2", [article(7, 8)])
    publish(where, str(tmp_path / "committed"), "run2")
    assert rows(read(output, "articles"), "articles") == hive_rows(tmp_path / "committed", "articles")
    assert {r["article_id"] for r in read(output, "articles").to_pylist()} == {"a1", "a2", "a3", "a7"}


def test_the_command_refuses_another_format_before_any_work(tmp_path, capsys):
    write_run(tmp_path / "version", "run1", FIRST)
    publish(resolve(str(tmp_path / "out"), TableSettings(table_format=DELTA)), str(tmp_path / "version"), "run1")
    assert main(["--input", str(SEEDS / "*.txt"), "--output", str(tmp_path / "out"), "--table-format", "iceberg"]) == 2
    assert "is published as delta tables" in capsys.readouterr().err
    assert not (tmp_path / "out" / "_versions").exists() and not (tmp_path / "out" / "_iceberg").exists()


def test_iceberg_on_an_object_store_needs_a_catalog(s3):
    """No SQLite file can live in a bucket: the catalog is named, or the run is refused."""
    from apache_beam.io.filesystems import FileSystems

    FileSystems.set_options(s3.options())
    output = s3.bucket("nocatalog") + "/news"
    with pytest.raises(TableFormatError, match="needs --iceberg-catalog"):
        resolve(output, TableSettings(table_format=ICEBERG))
    with pytest.raises(TableFormatError, match="needs --iceberg-catalog"):  # one check, also where it is opened
        iceberg.catalog(Published(output, ICEBERG))
    assert resolve(output, TableSettings(table_format=DELTA)).format == DELTA


def test_a_format_without_its_library_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    real = importlib.import_module

    def without_deltalake(name, *args):
        if name == "deltalake":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_deltalake)
    assert main(["--input", str(SEEDS / "*.txt"), "--output", str(tmp_path / "out"), "--table-format", "delta"]) == 2
    assert "--table-format delta needs the delta extra" in capsys.readouterr().err
    assert not (tmp_path / "out" / "_versions").exists()


def test_iceberg_on_s3_always_names_a_region(monkeypatch):
    """Without one, pyiceberg asks amazonaws.com where the bucket lives, whatever the endpoint."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.sink import objects

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setattr(FileSystems, "_pipeline_options", PipelineOptions(["--s3_endpoint_url=http://127.0.0.1:9"]))
    properties = objects.iceberg_properties()
    assert properties["s3.endpoint"] == "http://127.0.0.1:9" and properties["s3.region"]
