"""The output tables as Parquet files: where each table's files go, and how one file is written.

    OUTPUT/articles/published_date=2021-08-16/part-<run>-00000.parquet
    OUTPUT/articles/published_date=undated/...   (no publication date)
    OUTPUT/entities/published_date=.../...
    OUTPUT/duplicates/part-<run>-00000.parquet
    OUTPUT/errors/part-<run>-00000.parquet

Each file is one whole pyarrow table, written under a temporary name and renamed into place once
complete. Names carry the run id, so runs never collide. A table with no rows still gets one empty file,
so every reader finds its schema.
"""

from __future__ import annotations

import uuid
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import write_atomically
from transforms.schema import SCHEMAS, TABLE_RECORDS, UNDATED, Article, EntityRow, entity_rows, record_row

PARTITION_COLUMN = "published_date"
PARTITIONED_TABLES = ("articles", "entities")
EMPTY = "-empty.parquet"  # the end of a file's name that holds a table's schema and no row (write_empty_table)
TABLES = SCHEMAS


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def table_folder(output: str, table: str, partition: Optional[str]) -> str:
    folder = FileSystems.join(output, table)
    return folder if partition is None else FileSystems.join(folder, f"{PARTITION_COLUMN}={partition}")


def write_parquet(path: str, rows: list[dict], schema: pa.Schema) -> None:
    """Write one complete file: no reader sees half a file."""
    write_table(path, pa.Table.from_pylist(rows, schema=schema))


def write_table(path: str, table: pa.Table) -> None:
    write_atomically(path, lambda sink: pq.write_table(table, sink, compression="zstd"))


def table_files(root: str, table: str, name: str = "*.parquet") -> list[str]:
    """Paths of a table's files named like ``name``, in the table's folder or a partition of it."""
    patterns = [FileSystems.join(root, table, *sub, name) for sub in ((), ("*",))]
    return [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]


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
    article, its entity rows (in the article's partition). The one routing of records to tables, for
    batch and stream writing alike."""
    table = RECORD_TABLES[type(record)]
    partition = record.published_date if table in PARTITIONED_TABLES else None
    batches = [(table, partition, [record_row(record)])]
    if isinstance(record, Article) and (rows := entity_rows(record)):
        batches.append((RECORD_TABLES[EntityRow], partition, rows))
    return batches
