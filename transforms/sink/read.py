"""A committed version of one table, read back as Arrow, on every filesystem: the one way the report, the
tests and users read the dataset (``from pipelines import read_table``).

``read_table(OUTPUT, "articles")`` reads the committed version: on a local filesystem the files under
``_versions/<current>/articles``; on an object store the files the version's ``_files.json`` lists, which
may sit in earlier versions' folders (``view``). Every file is read with today's schema: a column an
earlier release did not write reads as null (``migrate`` says when such files are rewritten). ``as_of``: a
run id whose version is still kept (object stores keep every committed version; a local dataset the
current one and the one it replaced, until the next run begins).

A dataset also published as Delta or Iceberg tables holds the same files in them: the committed version
is read here all the same, and an ``as_of`` whose version is gone is read from the table format's history
(``transforms.write.tables.read``: a run id or a ``datetime``).
"""

from __future__ import annotations

from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.sink import migrate, view


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
    if as_of is not None and not _kept(output, as_of):
        from transforms.write import tables

        if tables.recorded(output) is not None:
            return tables.read(output, table, as_of)
    schema = TABLES[table]
    pieces = [read_file(path, schema) for path in committed_files(output, table, as_of)]
    return pa.concat_tables(pieces) if pieces else schema.empty_table()


def _kept(output: str, as_of) -> bool:
    """Whether the Hive version ``as_of`` (a run id) is still kept, committed."""
    from transforms.write.commit import VERSIONS

    return isinstance(as_of, str) and FileSystems.exists(FileSystems.join(output, VERSIONS, as_of, "_SUCCESS"))
