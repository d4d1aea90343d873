"""Compaction: the many small files that streaming and appends leave in a partition, merged into files of a
target size, as a new version committed like a run (``commit``), so readers never see rows twice or none.
Besides the tables, any Parquet tables kept under the version's ``_state`` (the dedupe index) are compacted
the same way when the caller names them."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Optional

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from transforms.files import read_key_sets, write_key_set
from transforms.write.commit import STATE, Version
from transforms.write.parquet import TABLES

KEY_SET_FOLDERS = ("files", "ingested")  # state folders of one-key-a-line files (``files.write_key_set``)


def partition_folders(root: str, tables: Mapping[str, pa.Schema]) -> Iterator[tuple[str, str]]:
    """(table, folder) for every folder of a version that holds Parquet files of the given tables (names
    relative to the version's root)."""
    for table in tables:
        for folder, _, names in os.walk(os.path.join(root, table)):
            if any(n.endswith(".parquet") for n in names):
                yield table, folder


def compact_folder(schema: pa.Schema, folder: str, run_id: str, target_bytes: int) -> tuple[int, int]:
    """Rewrite the Parquet files of one folder as ``part-<run>-NNNNN.parquet`` files of about
    ``target_bytes`` each, rows unchanged; returns (files before, files after). Rows stream through in
    batches, so a partition larger than memory compacts too."""
    old = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".parquet"))
    if len(old) <= 1:
        return len(old), len(old)
    batches = pads.dataset(old, schema=schema, format="parquet").to_batches()
    written, writer, size, path = [], None, 0, None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if writer is None or size >= target_bytes:
            if writer is not None:
                writer.close()
            path = os.path.join(folder, f".part-{run_id}-{len(written):05d}.parquet.tmp")
            writer, size = pq.ParquetWriter(path, schema, compression="zstd"), 0
            written.append(path)
        writer.write_batch(batch)
        size += batch.nbytes // 3  # zstd keeps about a third of Arrow's in-memory bytes for news text
    if writer is not None:
        writer.close()
    if not written:  # every file was empty: one empty file keeps the schema
        path = os.path.join(folder, f".part-{run_id}-00000.parquet.tmp")
        pq.write_table(schema.empty_table(), path, compression="zstd")
        written.append(path)
    for path in written:
        os.replace(path, os.path.join(folder, os.path.basename(path)[1:-4]))
    for path in old:
        os.remove(path)
    return len(old), len(written)


def compact_key_sets(state: str) -> None:
    """The state's key sets, each folder's key files as one file (a partitioned set's: each partition's,
    ``keyed_sets``)."""
    for name in KEY_SET_FOLDERS:
        top = os.path.join(state, name)
        if not os.path.isdir(top):
            continue
        for folder in [top, *(os.path.join(top, n) for n in sorted(os.listdir(top)) if n.startswith("part="))]:
            old = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".txt")]
            if len(old) <= 1:
                continue
            write_key_set(folder, read_key_sets(folder))
            for path in old:
                os.remove(path)


def compact_version(
    version: Version, target_bytes: int, state_tables: Optional[Mapping[str, pa.Schema]] = None
) -> dict[str, list[int]]:
    """Compact every partition of a version (a hard-linked copy of the committed one), and of the tables
    ``state_tables`` names in its state (folder relative to it: schema): per table, the number of files
    before and after. Removing a link in the copy leaves the committed version whole."""
    counts: dict[str, list[int]] = {}
    for root, tables, prefix in ((version.root, TABLES, ""), (version.state, state_tables or {}, STATE)):
        for table, folder in partition_folders(root, tables):
            before, after = compact_folder(tables[table], folder, version.run_id, target_bytes)
            totals = counts.setdefault(os.path.join(prefix, table), [0, 0])
            totals[0], totals[1] = totals[0] + before, totals[1] + after
    compact_key_sets(version.state)
    return counts
