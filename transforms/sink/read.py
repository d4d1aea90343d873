"""A committed version of one table, read back as Arrow, on every filesystem: the one way the report, the
tests and users read the dataset (``from pipelines import read_table``).

``read_table(OUTPUT, "articles")`` reads the committed version: on a local filesystem the files under
``_versions/<current>/articles``; on an object store the files the version's ``_files.json`` lists, which
may sit in earlier versions' folders (``view``). Every file is read with today's schema: a column an
earlier release did not write reads as null (``migrate`` says when such files are rewritten). ``as_of``: a
run id whose version is still kept (object stores keep every committed version; a local dataset the
current one and the one it replaced, until the next run begins).

Table formats (``--table-format delta|iceberg``) keep their own log: ``FORMAT_READERS`` names the module
whose ``read(output, table, as_of)`` reads such a table; plain Hive Parquet is read here.
"""

from __future__ import annotations

import importlib
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.sink import migrate, view

PARQUET = "parquet"
# --table-format -> the module that reads it (``read(output, table, as_of) -> pa.Table``).
FORMAT_READERS = {"delta": "transforms.write.tables.delta", "iceberg": "transforms.write.tables.iceberg"}


def table_format(output: str) -> str:
    """The format a dataset was written in: its committed manifest's ``table_format`` (plain Parquet when
    absent)."""
    from transforms.write.commit import _manifest, current_version

    run_id = current_version(output)
    if run_id is None:
        return PARQUET
    options = _manifest(FileSystems.join(output, "_versions", run_id))
    return str(options.get("table_format") or (options.get("options") or {}).get("table_format") or PARQUET)


def committed_files(output: str, table: str, as_of: Optional[str] = None) -> list[str]:
    """The Parquet files of ``table`` in the committed version (or version ``as_of``), sorted."""
    from transforms.write.commit import VERSIONS, DatasetError, current_version

    run_id = as_of or current_version(output)
    if run_id is None:
        raise DatasetError(f"{output} holds no committed dataset")
    root = FileSystems.join(output, VERSIONS, run_id)
    if as_of and as_of != current_version(output) and not FileSystems.exists(FileSystems.join(root, "_SUCCESS")):
        raise DatasetError(f"{output} keeps no committed version {as_of}")
    paths = view.match(FileSystems.join(root, table, "**"))
    return sorted(p for p in paths if p.endswith(".parquet") and not p.rsplit("/", 1)[-1].startswith("."))


def read_file(path: str, schema: pa.Schema) -> pa.Table:
    """One file with today's schema: columns it lacks (an earlier release's file) null, in today's order."""
    with FileSystems.open(path) as handle:
        return migrate.conform(pq.read_table(handle), schema)


def read_table(output: str, table: str, as_of: Optional[str] = None, options=None) -> pa.Table:
    """The committed rows of ``table`` (articles, entities, duplicates, errors, feeds) as one pyarrow Table
    with today's schema (the partitioned tables' ``published_date`` a DATE column of their files).
    ``options``: Beam pipeline options (e.g. ``PipelineOptions(["--s3_endpoint_url=..."])``) for the
    object store."""
    from transforms.write.parquet import TABLES

    if options is not None:
        FileSystems.set_options(options)
    if table not in TABLES:
        raise ValueError(f"no table {table!r}: one of {', '.join(TABLES)}")
    found_format = table_format(output)
    if found_format != PARQUET:
        return importlib.import_module(FORMAT_READERS[found_format]).read(output, table, as_of)
    schema = TABLES[table]
    pieces = [read_file(path, schema) for path in committed_files(output, table, as_of)]
    return pa.concat_tables(pieces) if pieces else schema.empty_table()
