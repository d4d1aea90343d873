"""Delta Lake: one Delta table per output table at ``OUTPUT/_delta/<table>``, through delta-rs.

The files are the version's own Parquet files, linked into the table's folder at the same relative path
and committed by add actions carrying their footer's statistics (no byte rewritten: measured in
docs/dataset.md). The table is not partitioned (Delta partition values must not be in the files, and
the files carry ``published_date``); ``published_date``'s and ``published_at``'s min/max per file let
readers skip files instead. Each run's commit carries ``news.run_id`` in its commitInfo, which
maps a run to the table version it made (``read(..., as_of=run_id)``). On S3 the table lives at
``s3://.../OUTPUT/_delta/<table>``, reached with Beam's S3 options (``storage_options``); this run's
files are copied in (the earlier ones are already there), and the log entry is a conditional put.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from deltalake import CommitProperties, DeltaTable
from deltalake import Field as DeltaField
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from transforms.sink import objects
from transforms.sink.view import is_local
from transforms.write.parquet import TABLES
from transforms.write.tables import DELTA, RUN_ID, Published, TableFormatError, link, table_root

_BOUNDED = (pa.types.is_integer, pa.types.is_timestamp, pa.types.is_date)  # columns whose min/max are kept


def table_uri(output: str, table: str) -> str:
    return table_root(output, DELTA, table)


def storage_options(output: str) -> Optional[dict[str, str]]:
    """delta-rs's settings for the dataset's store: on S3, Beam's (``objects.delta_storage_options``:
    endpoint, credentials, region; commits by conditional put); None on a local disk."""
    return None if is_local(output) else objects.delta_storage_options()


def open_table(output: str, table: str, version=None) -> DeltaTable:
    """The Delta table of ``table``, where and as delta-rs reaches it (``storage_options``)."""
    return DeltaTable(table_uri(output, table), version=version, storage_options=storage_options(output))


def publish(where: Published, files: dict[str, dict[str, str]], run_id: str, data_change: bool = True) -> None:
    """One commit per table: the version's files the log lacks added, the ones it holds that the version
    lost removed (rows unchanged when ``data_change`` is False: a compaction). ``files``: per table, each
    file's path in the table -> where it physically is."""
    for table, wanted in files.items():
        uri = table_uri(where.output, table)
        commit = CommitProperties(custom_metadata={RUN_ID: run_id})
        try:
            delta = open_table(where.output, table)
        except TableNotFoundError:
            adds = _adds(uri, wanted, data_change)
            create_table_with_add_actions(
                uri,
                DeltaSchema.from_arrow(_schema(table)),
                adds,
                mode="error",
                name=table,
                commit_properties=commit,
                storage_options=storage_options(where.output),
            )
            continue
        held = set(pa.table(delta.get_add_actions(flatten=True)).column("path").to_pylist())
        now = int(time.time() * 1000)
        removes = [RemoveAction(path, data_change, now) for path in sorted(held - set(wanted))]
        adds = _adds(uri, {p: source for p, source in wanted.items() if p not in held}, data_change)
        _evolve(delta, table, commit)
        schema = pa.schema(delta.schema().to_arrow())
        delta.create_write_transaction([*adds, *removes], mode="append", schema=schema, commit_properties=commit)


def _schema(table: str) -> pa.Schema:
    return TABLES[table]


def _evolve(delta: DeltaTable, table: str, commit: CommitProperties) -> None:
    """Today's columns the table lacks, added (schema evolution: earlier files read them as null; none is
    ever dropped). delta-rs takes a new column only through ``alter``, its own commit before the run's:
    a reader in between sees the column, null everywhere, and no new row."""
    current = set(delta.schema().to_arrow().names)
    extra = [field for field in _schema(table) if field.name not in current]
    if extra:
        delta.alter.add_columns([DeltaField.from_arrow(field) for field in extra], commit_properties=commit)
        delta.update_incremental()


def _adds(uri: str, paths: dict[str, str], data_change: bool) -> list[AddAction]:
    adds = []
    for relative, source in sorted(paths.items()):
        target = f"{uri}/{relative}"
        link(source, target)
        with FileSystems.open(target) as handle:
            metadata = pq.ParquetFile(handle).metadata
        size, modified = _size_and_time(target)
        adds.append(AddAction(relative, size, {}, modified, data_change, json.dumps(file_stats(metadata))))
    return adds


def _size_and_time(path: str) -> tuple[int, int]:
    if "://" not in path:
        status = os.stat(path)
        return status.st_size, int(status.st_mtime * 1000)
    (found,) = FileSystems.match([path])[0].metadata_list
    return found.size_in_bytes, int((found.last_updated_in_seconds or time.time()) * 1000)


def file_stats(metadata: pq.FileMetaData) -> dict:
    """A file's Delta statistics from its Parquet footer: rows, nulls per top-level column, and min/max of
    its integer and timestamp columns (strings are left out: a truncated maximum would be wrong)."""
    stats = {"numRecords": metadata.num_rows, "nullCount": {}, "minValues": {}, "maxValues": {}}
    arrow = metadata.schema.to_arrow_schema()
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    for j in range(metadata.num_columns):
        name = metadata.schema.column(j).path
        if "." in name:  # a leaf of a nested column
            continue
        columns = [group.column(j).statistics for group in groups]
        if not columns or any(s is None or not s.has_null_count for s in columns):
            continue
        stats["nullCount"][name] = sum(s.null_count for s in columns)
        kind = arrow.field(name).type
        bounded = [s for s in columns if s.has_min_max]
        if any(test(kind) for test in _BOUNDED) and bounded:
            stats["minValues"][name] = _stat_value(min(s.min for s in bounded), up=False)
            stats["maxValues"][name] = _stat_value(max(s.max for s in bounded), up=True)
    return stats


def _stat_value(value, up: bool):
    """A bound as Delta's JSON wants it: timestamps in UTC with milliseconds, a maximum rounded up to the
    next millisecond (a bound cut down would let a reader skip a file that holds the row)."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if up and value.microsecond % 1000:
            value += dt.timedelta(microseconds=1000 - value.microsecond % 1000)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def table_version(where: Published, table: str, as_of) -> Optional[int]:
    """The Delta version ``as_of`` names: a run id (the commit it made), a version number, or None for the
    latest. A datetime is passed to delta-rs as is."""
    if as_of is None or isinstance(as_of, (int, dt.datetime)):
        return as_of
    delta = open_table(where.output, table)
    for entry in delta.history():
        if entry.get(RUN_ID) == as_of:
            return entry["version"]
    raise TableFormatError(f"no commit of run {as_of!r} in {table_uri(where.output, table)} (vacuumed, or not a run of it)")


def runs(where: Published, table: str) -> list[tuple[str, int, dt.datetime]]:
    """(run id, Delta version, commit time) of every run's commit still in the log, oldest first."""
    delta = open_table(where.output, table)
    found = [
        (e[RUN_ID], e["version"], dt.datetime.fromtimestamp(e["timestamp"] / 1000, dt.UTC))
        for e in delta.history()
        if RUN_ID in e
    ]
    return sorted(found, key=lambda r: r[1])


def read(where: Published, table: str, as_of=None) -> pa.Table:
    version = table_version(where, table, as_of)
    delta = open_table(where.output, table, version if isinstance(version, int) else None)
    if isinstance(version, dt.datetime):
        delta.load_as_version(version)
    return delta.to_pyarrow_table()


def maintain(where: Published, retention_hours: float) -> dict:
    """``vacuum``: the files of each table that no version within the retention reads, deleted. The
    earliest runs then no longer time-travel (docs/dataset.md)."""
    deleted = {}
    for table in TABLES:
        delta = open_table(where.output, table)
        removed = delta.vacuum(retention_hours=int(retention_hours), dry_run=False, enforce_retention_duration=False)
        deleted[table] = len(removed)
    return deleted
