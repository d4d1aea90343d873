"""The output tables as Parquet files: where each table's files go, and how one file is written.

    OUTPUT/articles/published_month=2021-08/part-<run>-00000.parquet
    OUTPUT/articles/published_month=undated/...   (no publication date)
    OUTPUT/entities/published_month=.../...
    OUTPUT/duplicates/part-<run>-00000.parquet
    OUTPUT/errors/part-<run>-00000.parquet

``articles`` and ``entities`` carry ``published_date`` (the publisher's day, null when undated) as a DATE column
in their files, so every reader types it the same whatever the data; the folder key is the month, text
in every reader (a Hive key is a DATE in DuckDB and Polars only when every value parses as one, and a
category in pandas always). A dataset of the layout before (``published_date=<day>|undated`` folders, no
date column) is rewritten in this one by the next append (``from_legacy``, ``sink/migrate.py``).

Each file is one whole pyarrow table, written under a temporary name and renamed into place once
complete. Names carry the run id, so runs never collide. A table with no rows still gets one empty file,
so every reader finds its schema.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import write_atomically
from transforms.schema import SCHEMAS, TABLE_RECORDS, Article, EntityRow, entity_rows, record_row
from transforms.sink import view

DATE_COLUMN = "published_date"  # the publisher's day (Article.published_date), a DATE column of the partitioned tables' files
PARTITION_KEY = "published_month"  # the folder key: YYYY-MM of DATE_COLUMN, or UNDATED
UNDATED = "undated"  # not Hive's null partition, which pandas and pyarrow cannot always read
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"  # what early releases wrote for an undated article
PARTITIONED_TABLES = ("articles", "entities")
LEGACY_PARTITION_KEY = "published_date"  # the folder key of datasets written before the date was a column

# Each table's file schema: its record's columns and, for the partitioned tables, the day they were published.
TABLES = {
    table: schema.append(pa.field(DATE_COLUMN, pa.date32())) if table in PARTITIONED_TABLES else schema
    for table, schema in SCHEMAS.items()
}
COMPRESSION = "zstd"  # every Parquet file the project writes
EMPTY = "-empty.parquet"  # the end of a file's name that holds a table's schema and no row (write_empty_table)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def partition_of(day: Optional[dt.date]) -> str:
    """The folder value of rows published on ``day`` (None: undated)."""
    return UNDATED if day is None else f"{day:%Y-%m}"


def table_folder(output: str, table: str, partition: Optional[str]) -> str:
    folder = FileSystems.join(output, table)
    return folder if partition is None else FileSystems.join(folder, f"{PARTITION_KEY}={partition}")


def write_parquet(path: str, rows: list[dict], schema: pa.Schema) -> None:
    """Write one complete file: no reader sees half a file."""
    write_table(path, pa.Table.from_pylist(rows, schema=schema))


def write_table(path: str, table: pa.Table) -> None:
    write_atomically(path, lambda sink: pq.write_table(table, sink, compression=COMPRESSION))


def write_in_order(path: str, table: pa.Table, order: pa.Array, rows_per_group: int) -> None:
    """``table``'s rows in ``order``, taken and written a row group at a time: a writer holds the table and
    one group, not a sorted copy of the whole table."""

    def write(sink) -> None:
        with pq.ParquetWriter(sink, table.schema, compression=COMPRESSION) as writer:
            for start in range(0, len(order), rows_per_group):
                writer.write_table(table.take(order[start : start + rows_per_group]))

    write_atomically(path, write)


def table_files(root: str, table: str, name: str = "*.parquet") -> list[str]:
    """Paths of a table's files named like ``name``, in the table's folder or a partition of it."""
    patterns = [FileSystems.join(root, table, *sub, name) for sub in ((), ("*",))]
    return [path for pattern in patterns for path in view.match(pattern)]


def run_files(root: str, run_id: str) -> list[str]:
    """The files one run wrote under ``root``, relative to it, sorted."""
    paths = {path for table in TABLES for path in table_files(root, table, f"part-{run_id}-*.parquet")}
    return sorted(path[len(root) :].lstrip("/") for path in paths)


def count_written_rows(output: str, run_id: str) -> dict[str, int]:
    """Rows this run wrote per table, read back from the Parquet footers (for runners without metrics)."""
    totals = dict.fromkeys(TABLES, 0)
    for relative in run_files(output, run_id):
        with FileSystems.open(FileSystems.join(output, relative)) as handle:
            totals[relative.split("/")[0]] += pq.ParquetFile(handle).metadata.num_rows
    return totals


def write_empty_table(output: str, table: str, run_id: str) -> str:
    """One file with the table's schema and no row, so readers find the schema before any row exists."""
    partition = UNDATED if table in PARTITIONED_TABLES else None
    path = FileSystems.join(table_folder(output, table, partition), f"part-{run_id}{EMPTY}")
    write_parquet(path, [], TABLES[table])
    return path


# The table of each record the pipeline ends with: schema.TABLE_RECORDS read backwards.
RECORD_TABLES = {record: table for table, record in TABLE_RECORDS.items()}


def table_batches(record) -> list[tuple[str, Optional[str], list[dict]]]:
    """(table, partition, rows) for any record the pipeline ends with: its row in its own table and, for an
    article, its entity rows (in the article's partition, with its ``published_date``). The one routing of
    records to tables, for batch and stream writing alike."""
    table = RECORD_TABLES[type(record)]
    if table not in PARTITIONED_TABLES:
        return [(table, None, [record_row(record)])]
    day = record.published_date
    dated = {DATE_COLUMN: day}
    batches = [(table, partition_of(day), [record_row(record) | dated])]
    if isinstance(record, Article) and (rows := entity_rows(record)):
        batches.append((RECORD_TABLES[EntityRow], partition_of(day), [row | dated for row in rows]))
    return batches


def from_legacy(table: str, folder: str, data: pa.Table) -> tuple[str, pa.Table]:
    """A file of the layout before the date was a column, read from its ``published_date=<value>`` folder,
    as today's: (its partition, its rows with ``published_date`` from the folder, the day the writer
    took from ``published_at``, and today's columns in order; a column it lacks, null)."""
    value = folder.split("=", 1)[1]
    day = None if value in (UNDATED, HIVE_NULL) else dt.date.fromisoformat(value)
    data = data.append_column(DATE_COLUMN, pa.array([day] * data.num_rows, pa.date32()))
    from transforms.sink.migrate import conform

    return partition_of(day), conform(data, TABLES[table])
