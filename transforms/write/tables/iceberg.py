"""Iceberg: one Iceberg table per output table, ``<namespace>.<table>`` in a SQL catalog (by default the
SQLite file ``OUTPUT/_iceberg/catalog.db``), its files at ``OUTPUT/_iceberg/<table>/data/``.

The version's Parquet files are linked in and registered as data files (``add_files``: statistics from
their footers, columns by name: the files carry no Iceberg field ids), in one catalog commit per table
and run, whose snapshot summary carries ``news.run_id``. ``articles`` and ``entities`` are partitioned by
publication month, ``month(published_date)``: a transform of the column, which Iceberg reads from each
file's statistics (a file of the Hive layout holds one month, as its folder says, or only undated rows:
the null partition); a day filter prunes files by the column's min/max. The other tables are not
partitioned (a ``duplicates`` file spans months).
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from typing import Optional

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table, _parquet_files_to_data_files
from pyiceberg.transforms import MonthTransform

from transforms.sink import objects
from transforms.sink.view import is_local
from transforms.write.parquet import DATE_COLUMN, PARTITION_KEY, PARTITIONED_TABLES, TABLES
from transforms.write.tables import (
    ICEBERG,
    RUN_ID,
    Published,
    TableFormatError,
    check_catalog,
    delete_files,
    link,
    local_path,
    table_root,
    unread_files,
)

CATALOG_FILE = "catalog.db"
# Appends merge small manifests (else one more per run, each read by every later run's scan and commit).
PROPERTIES = {"commit.manifest-merge.enabled": "true"}
CATALOG_NAME = "news"  # the catalog's name in its SQL tables (``catalog_name``): what readers open it as


def catalog(where: Published) -> SqlCatalog:
    """The dataset's SQL catalog: the one named, or the SQLite file beside a local dataset. On S3 the
    tables' FileIO (pyarrow's S3 filesystem) gets Beam's S3 settings (``objects.iceberg_properties``)."""
    warehouse = posixpath.join(local_path(where.output), f"_{ICEBERG}")
    uri = where.catalog
    check_catalog(where.output, uri)
    if uri is None:
        os.makedirs(warehouse, exist_ok=True)
        uri = f"sqlite:///{posixpath.join(warehouse, CATALOG_FILE)}"
    elif ":***@" in uri:
        raise TableFormatError(f"{where.output}'s Iceberg catalog needs its password: pass --iceberg-catalog")
    properties = {} if is_local(where.output) else objects.iceberg_properties()
    location = warehouse if "://" in warehouse else f"file://{warehouse}"
    found = SqlCatalog(CATALOG_NAME, uri=uri, warehouse=location, **properties)
    found.create_namespace_if_not_exists(where.namespace)
    return found


def _identifier(where: Published, table: str) -> tuple[str, str]:
    return (where.namespace, table)


def publish(where: Published, files: dict[str, dict[str, str]], run_id: str, data_change: bool = True) -> None:
    """One catalog commit per table: the version's files the table lacks added (a fast append), or, when
    it also holds files the version lost (an overwrite run, a compaction), one overwrite snapshot that
    deletes those and adds these. ``files``: per table, each file's path in the table -> where it is."""
    found = catalog(where)
    properties = {RUN_ID: run_id}
    for table, wanted in files.items():
        location = table_root(where.output, ICEBERG, table)
        paths = {f"{location}/data/{relative}": source for relative, source in wanted.items()}
        try:
            iceberg = found.load_table(_identifier(where, table))
        except NoSuchTableError:
            for path, source in paths.items():
                link(source, path)
            create = found.create_table_transaction(
                _identifier(where, table), schema=TABLES[table], location=location, properties=PROPERTIES
            )
            with create as tx:
                if table in PARTITIONED_TABLES:  # as the Hive folders: the month of the day column
                    tx.update_spec().add_field(DATE_COLUMN, MonthTransform(), PARTITION_KEY).commit()
                tx.add_files(list(paths), snapshot_properties=properties, check_duplicate_files=False)
            continue
        held = {task.file.file_path: task.file for task in iceberg.scan().plan_files()}
        added = [path for path in paths if path not in held]
        removed = [data_file for path, data_file in held.items() if path not in paths]
        for path in added:  # only this run's: one check (and copy) per new file, not per file of the table
            link(paths[path], path)
        with iceberg.transaction() as tx:
            _evolve(tx, iceberg, table)
            if not removed:
                tx.add_files(added, snapshot_properties=properties, check_duplicate_files=False)
                continue
            with tx.update_snapshot(snapshot_properties=properties).overwrite() as overwrite:
                for data_file in removed:
                    overwrite.delete_data_file(data_file)
                for data_file in _parquet_files_to_data_files(tx.table_metadata, added, iceberg.io):
                    overwrite.append_data_file(data_file)


def _evolve(tx, iceberg: Table, table: str) -> None:
    """Today's columns the table lacks, added (schema evolution; earlier files read them as null)."""
    known = set(iceberg.schema().column_names)
    if any(field.name not in known for field in TABLES[table]):
        with tx.update_schema() as update:
            update.union_by_name(TABLES[table])


def snapshot_id(where: Published, iceberg: Table, as_of) -> Optional[int]:
    """The snapshot ``as_of`` names: a run id (the snapshot its commit made), a datetime (the one current
    then), a snapshot id, or None for the current one."""
    if as_of is None or isinstance(as_of, int):
        return as_of
    if isinstance(as_of, dt.datetime):
        found = iceberg.snapshot_as_of_timestamp(int(as_of.timestamp() * 1000))
        if found is None:
            raise TableFormatError(f"{iceberg.name()} has no snapshot as early as {as_of.isoformat()}")
        return found.snapshot_id
    for snapshot in iceberg.snapshots():
        if snapshot.summary is not None and snapshot.summary.get(RUN_ID) == as_of:
            return snapshot.snapshot_id
    raise TableFormatError(f"no snapshot of run {as_of!r} in {iceberg.name()} (expired, or not a run of it)")


def runs(where: Published, table: str) -> list[tuple[str, int, dt.datetime]]:
    """(run id, snapshot id, commit time) of every run's snapshot still kept, oldest first."""
    iceberg = catalog(where).load_table(_identifier(where, table))
    found = [
        (s.summary[RUN_ID], s.snapshot_id, dt.datetime.fromtimestamp(s.timestamp_ms / 1000, dt.UTC))
        for s in iceberg.snapshots()
        if s.summary is not None and RUN_ID in s.summary.additional_properties
    ]
    return sorted(found, key=lambda r: r[2])


def read(where: Published, table: str, as_of=None) -> pa.Table:
    iceberg = catalog(where).load_table(_identifier(where, table))
    return iceberg.scan(snapshot_id=snapshot_id(where, iceberg, as_of)).to_arrow()


def maintain(where: Published, retention_hours: float) -> dict:
    """Snapshots older than the retention expired (the current one is always kept), then the data files
    no kept snapshot reads deleted: pyiceberg's expiry leaves them on disk."""
    found = catalog(where)
    deleted = {}
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=retention_hours)
    for table in TABLES:
        iceberg = found.load_table(_identifier(where, table))
        old = [s.snapshot_id for s in iceberg.snapshots() if s.timestamp_ms < cutoff.timestamp() * 1000]
        current = iceberg.current_snapshot()
        old = [s for s in old if current is None or s != current.snapshot_id]
        if old:
            iceberg.maintenance.expire_snapshots().by_ids(old).commit()
            iceberg = found.load_table(_identifier(where, table))
        kept = {task.file.file_path for s in iceberg.snapshots() for task in iceberg.scan(snapshot_id=s.snapshot_id).plan_files()}
        data = posixpath.join(table_root(where.output, ICEBERG, table), "data")
        gone = unread_files(data, kept, cutoff.timestamp())
        delete_files(gone)
        deleted[table] = len(gone)
    return deleted
