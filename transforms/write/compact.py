"""Compaction: the many small files that streaming and appends leave in a partition, merged into files of a
target size, as a new version committed like a run (``commit``), so readers never see rows twice or none.
Besides the tables, any Parquet tables kept under the version's ``_state`` (the dedupe index) are compacted
the same way when the caller names them."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import read_key_sets, write_key_set
from transforms.sink import migrate, view
from transforms.write.commit import STATE, Version
from transforms.write.parquet import COMPRESSION, TABLES

KEY_SET_FOLDERS = ("files", "ingested")  # state folders of one-key-a-line files (``files.write_key_set``)


def partition_folders(root: str, tables: Mapping[str, pa.Schema]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(table, folder in the version, its Parquet files: path in the version -> physical path) for every
    folder of a version that holds Parquet files of the given tables."""
    for table in tables:
        folders: dict[str, dict[str, str]] = {}
        for rel, path in view.files_under(root, table).items():
            if rel.endswith(".parquet"):
                folders.setdefault(posixpath.dirname(rel), {})[rel] = path
        for folder, files in sorted(folders.items()):
            yield table, folder, files


def compact_folder(
    schema: pa.Schema, root: str, folder: str, files: dict[str, str], run_id: str, target_bytes: int
) -> tuple[list[str], int]:
    """Rewrite the Parquet files of one folder of the version at ``root`` as ``part-<run>-NNNNN.parquet``
    files of about ``target_bytes`` each, rows unchanged; returns the files (paths in the version) it
    replaced (none when there was at most one) and how many it wrote. Rows stream through in batches, so a partition larger
    than memory compacts too; each new file is written whole under a temporary name (local) or uploaded
    whole (object stores)."""
    if len(files) <= 1:
        return [], len(files)
    local = view.is_local(root)
    written: list[str] = []
    writer = sink = None
    size = 0

    def start() -> None:
        nonlocal writer, sink, size
        name = f"part-{run_id}-{len(written):05d}.parquet"
        target = FileSystems.join(root, folder, name)
        path = FileSystems.join(root, folder, f".{name}.tmp") if local else target
        sink = FileSystems.create(path)
        writer, size = pq.ParquetWriter(sink, schema, compression=COMPRESSION), 0
        written.append(path)

    def finish() -> None:
        if writer is not None:
            writer.close()
            sink.close()

    for batch in _batches(sorted(files.values()), schema):
        if batch.num_rows == 0:
            continue
        if writer is None or size >= target_bytes:
            finish()
            start()
        writer.write_batch(batch)
        size += batch.nbytes // 3  # zstd keeps about a third of Arrow's in-memory bytes for news text
    if writer is None:  # every file was empty: one empty file keeps the schema
        start()
    finish()
    if local:
        for path in written:
            os.replace(path, os.path.join(posixpath.dirname(path), posixpath.basename(path)[1:-4]))
        for rel in files:
            os.remove(os.path.join(root, rel))
    return sorted(files), len(written)


def _batches(paths: list[str], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The files' rows in batches, with ``schema`` (an earlier release's file: its missing columns null)."""
    for path in paths:
        with FileSystems.open(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches():
                yield from migrate.conform(pa.Table.from_batches([batch]), schema).to_batches()


def compact_key_sets(state: str) -> list[str]:
    """The state's key sets, each folder's key files as one file (a partitioned set's: each partition's,
    ``keyed_sets``); returns the files (paths in the state) it replaced."""
    replaced = []
    for name in KEY_SET_FOLDERS:
        by_folder: dict[str, dict[str, str]] = {}
        for rel, path in view.files_under(state, name).items():
            if rel.endswith(".txt"):
                by_folder.setdefault(posixpath.dirname(rel), {})[rel] = path
        for folder, old in sorted(by_folder.items()):
            if len(old) <= 1:
                continue
            write_key_set(FileSystems.join(state, folder), read_key_sets(FileSystems.join(state, folder)))
            if view.is_local(state):
                for path in old.values():
                    os.remove(path)
            replaced += sorted(old)
    return replaced


def compact_version(
    version: Version, target_bytes: int, state_tables: Optional[Mapping[str, pa.Schema]] = None
) -> dict[str, list[int]]:
    """Compact every partition of a version (a hard-linked copy of the committed one, or on an object
    store a view of it), and of the tables ``state_tables`` names in its state (folder relative to it:
    schema): per table, the number of files before and after. Removing a link in the copy leaves the
    committed version whole; on an object store the replaced files are left out of the version's list
    (``version.removed``), never deleted under a reader."""
    counts: dict[str, list[int]] = {}
    for root, tables, prefix in ((version.root, TABLES, ""), (version.state, state_tables or {}, STATE)):
        for table, folder, files in partition_folders(root, tables):
            replaced, after = compact_folder(tables[table], root, folder, files, version.run_id, target_bytes)
            totals = counts.setdefault(posixpath.join(prefix, table) if prefix else table, [0, 0])
            totals[0], totals[1] = totals[0] + len(files), totals[1] + after
            version.removed.extend(FileSystems.join(root, rel) for rel in replaced)
    version.removed.extend(FileSystems.join(version.state, rel) for rel in compact_key_sets(version.state))
    return counts
