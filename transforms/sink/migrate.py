"""Columns added without loss: a dataset written by an earlier release, whose tables lack columns today's
schema has, is given them when the next run appends to it, inside that run's version (committed with it,
dropped with it if it fails). Every file of such a table is rewritten under its own name with today's
schema, the new columns null in its rows: afterwards every reader (pandas, DuckDB, Spark, a glob) sees one
schema, and the rows, the dedupe index, the file digests and the feed state are those of the earlier
version, untouched. A column that changed type or disappeared is no addition: refused, as before.

The layout before ``published_date`` was a column (``published_date=<day>`` folders) is migrated the same
way: each such file rewritten into today's month folder (``published_month=``), its day taken from the
folder it was in (``parquet.from_legacy``), named after the file it was and its day; the old file left out
of the version.

Cost: one rewrite of the tables that gained a column, once per release that adds one (docs/dataset.md).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.sink import view


def difference(found: pa.Schema, today: pa.Schema) -> Optional[str]:
    """Why files of schema ``found`` cannot be read as today's (a column today lacks, or of another type);
    None when today's only adds columns."""
    for field in found:
        if field.name not in today.names:
            return f"column {field.name} is no longer written"
        wanted = today.field(field.name).type
        if field.type != wanted:
            return f"column {field.name} is {field.type}, today {wanted}"
    return None


def conform(found: pa.Table, schema: pa.Schema) -> pa.Table:
    """A table with today's schema: today's columns in order, those it lacks null."""
    columns = [
        found.column(f.name).cast(f.type) if f.name in found.column_names else pa.nulls(found.num_rows, f.type) for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def add_columns(root: str, table: str, schema: pa.Schema, removed: list) -> int:
    """Rewrite every file of ``table`` in the version at ``root`` that lacks a column, or lies in a folder of
    the old layout, with today's schema (and folder), in this version: a local version's link replaced or
    removed, an object store's base file overlaid or named in ``removed``; returns how many."""
    from transforms.write.parquet import LEGACY_PARTITION_KEY, from_legacy, table_folder, write_table

    rewritten = 0
    for relative, path in sorted(view.files_under(root, table).items()):
        if not relative.endswith(".parquet"):
            continue
        with FileSystems.open(path) as handle:
            found = pq.read_table(handle)
        folder = posixpath.basename(posixpath.dirname(relative))
        if folder.startswith(f"{LEGACY_PARTITION_KEY}="):
            partition, data = from_legacy(table, folder, found)
            name = f"{posixpath.basename(relative).removesuffix('.parquet')}-{folder.split('=', 1)[1]}.parquet"
            write_table(FileSystems.join(table_folder(root, table, partition), name), data)
            old = FileSystems.join(root, relative)
            if view.is_local(root):
                FileSystems.delete([old])
                with contextlib.suppress(OSError):  # the old folder, once empty
                    os.rmdir(posixpath.dirname(old))
            else:
                removed.append(old)
        elif found.schema.equals(schema):
            continue
        else:
            write_table(FileSystems.join(root, relative), conform(found, schema))
        rewritten += 1
    return rewritten
