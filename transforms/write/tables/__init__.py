"""Table formats: ``--table-format parquet|delta|iceberg``. The run writes its Hive-partitioned Parquet
version as always (``commit.py``: the pipeline's own truth, with its state); with ``delta`` or ``iceberg``
the committed version's files are also published, in ONE commit per run, as a Delta Lake table or an
Iceberg table per output table:

    OUTPUT/_delta/<table>/                 a Delta table: _delta_log/ and the files, linked from the version
    OUTPUT/_iceberg/<table>/data/...       an Iceberg table's files (its metadata/ beside them); the catalog
    OUTPUT/_iceberg/catalog.db             is this SQLite file unless ``--iceberg-catalog`` names another
    OUTPUT/_table_format.json              which format the dataset is published in (and the catalog)

``publish`` makes the format's table hold exactly the files of the version being committed: the files the
log lacks are added (linked in: no byte copied on a local disk) and the files it holds that the version
no longer has (an overwrite, a compaction) are removed, all in one commit tagged with the run id. A run
that fails publishes nothing; a run killed between this commit and the pointer's move leaves the table a
run ahead of the pointer, and the next run's commit takes that run's files out again (docs/dataset.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import shutil
from typing import Optional

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from transforms.files import write_atomically
from transforms.settings import option
from transforms.sink import view
from transforms.sink.view import is_local
from transforms.write.parquet import EMPTY, TABLES

PARQUET, DELTA, ICEBERG = "parquet", "delta", "iceberg"
FORMATS = (PARQUET, DELTA, ICEBERG)
MARKER = "_table_format.json"  # which format the dataset is published in; absent: plain Parquet
RUN_ID = "news.run_id"  # the commit property (Delta commitInfo, Iceberg snapshot summary) naming the run
DEFAULT_NAMESPACE = "news"


class TableFormatError(Exception):
    """A table format that cannot take this dataset or run (another format, a stream, no catalog)."""


def catalog_uri(text: str) -> str:
    """A SQLAlchemy URL (``sqlite:////srv/iceberg.db``, ``postgresql+psycopg2://host/db``): scheme first."""
    if not re.match(r"^[a-z][a-z0-9+]*://", text.strip()):
        raise ValueError(f"not a SQL catalog URI: {text!r} (e.g. sqlite:////srv/catalog.db, postgresql://host/db)")
    return text.strip()


def namespace(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ValueError(f"not an Iceberg namespace: {text!r} (letters, digits and _, not first a digit)")
    return text


@dataclasses.dataclass(frozen=True)
class TableSettings:
    """Table formats: Delta Lake or Iceberg tables over the dataset's files (docs/dataset.md)."""

    table_format: Optional[str] = option(
        None,
        "parquet: Hive-partitioned Parquet files; delta or iceberg: the same files also committed, once per run, "
        "to a Delta Lake table or an Iceberg table per output table (default: the format the dataset is "
        "published in, parquet for a new one; docs/dataset.md)",
        choices=list(FORMATS),
    )
    iceberg_catalog: Optional[str] = option(
        None,
        "iceberg: the SQL catalog's SQLAlchemy URI (default: sqlite:///OUTPUT/_iceberg/catalog.db, beside the dataset)",
        parse=catalog_uri,
    )
    iceberg_namespace: str = option(DEFAULT_NAMESPACE, "iceberg: the catalog namespace of the dataset's tables", parse=namespace)


@dataclasses.dataclass(frozen=True)
class Published:
    """Where and how a dataset is published: its format and, for Iceberg, its catalog and namespace."""

    output: str
    format: str = PARQUET
    catalog: Optional[str] = None  # Iceberg: the SQLAlchemy URI; None: the SQLite file beside the dataset
    namespace: str = DEFAULT_NAMESPACE


def recorded(output: str) -> Optional[Published]:
    """The format the dataset is published in, from its marker; None when it is plain Parquet."""
    path = FileSystems.join(output, MARKER)
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        data = json.loads(handle.read().decode("utf-8"))
    return Published(output, data["format"], data.get("catalog"), data.get("namespace") or DEFAULT_NAMESPACE)


def resolve(output: str, settings: Optional[TableSettings] = None, streaming: bool = False) -> Published:
    """The format this run publishes in: the one asked for, else the dataset's, else plain Parquet. A
    format other than the dataset's is refused (the other table would silently stop following the runs),
    and so is a table format on a stream (a stream has no end of run to commit at)."""
    settings = settings or TableSettings()
    known = recorded(output)
    wanted = settings.table_format or (known.format if known else PARQUET)
    if known and wanted != known.format:
        raise TableFormatError(
            f"{output} is published as {known.format} tables ({FileSystems.join(output, MARKER)}): run with "
            f"--table-format {known.format}, or leave the option out"
        )
    if wanted == PARQUET:
        return Published(output)
    if streaming:
        raise TableFormatError(f"--table-format {wanted} is for batch runs: a stream has no end of run to commit at")
    catalog = settings.iceberg_catalog or (known.catalog if known else None)
    if wanted == ICEBERG:
        check_catalog(output, catalog)
    space = settings.iceberg_namespace if settings.table_format or not known else known.namespace
    return Published(output, wanted, catalog, space)


def check_catalog(output: str, catalog: Optional[str]) -> None:
    """Iceberg's catalog: a dataset on an object store needs one named (checked before a run, and again
    wherever the catalog is opened)."""
    if catalog is None and not is_local(output):
        raise TableFormatError(
            f"--table-format iceberg on {output} needs --iceberg-catalog (e.g. sqlite:////srv/news-catalog.db): "
            "the default SQLite catalog is a file beside a local dataset, and an object store holds no SQLite file"
        )


def _module(name: str):
    if name == DELTA:
        from transforms.write.tables import delta

        return delta
    if name == ICEBERG:
        from transforms.write.tables import iceberg

        return iceberg
    raise TableFormatError(f"{name!r} keeps no table log")


def publish(where: Published, root: str, run_id: str, data_change: bool = True) -> None:
    """Make the format's tables hold exactly the files of the version at ``root``, in one commit per table
    tagged with ``run_id`` (``data_change`` False: the rows are the same, only the files changed, as in a
    compaction); plain Parquet has nothing to publish."""
    if where.format == PARQUET:
        return
    if recorded(where.output) != where:
        marker = {"format": where.format, "catalog": _without_password(where.catalog), "namespace": where.namespace}
        data = json.dumps(marker, indent=1).encode("utf-8")
        write_atomically(FileSystems.join(where.output, MARKER), lambda sink: sink.write(data))
    _module(where.format).publish(where, version_files(root), run_id, data_change)


def commit(version, manifest: dict, where: Optional[Published] = None, data_change: bool = True) -> None:
    """A version's end, the one path for runs and maintenance: sealed, published as one commit per table
    in its table format (``where``; None: plain Parquet), then the pointer moved. A failure before the
    format's commit adds nothing; after it (the pointer not moved), the tables are one run ahead, with
    their own links or copies of its files, until the next run's commit removes them (docs/dataset.md)."""
    from transforms.write.commit import publish as move_pointer
    from transforms.write.commit import seal

    seal(version, manifest)
    if where is not None:
        publish(where, version.root, version.run_id, data_change)
    move_pointer(version)


def read(output: str, table: str, as_of=None, catalog: Optional[str] = None) -> pa.Table:
    """A table of a dataset published as Delta or Iceberg, as of now or of an earlier run (``as_of``: a run
    id, a ``datetime``, or the format's own version number / snapshot id)."""
    where = recorded(output)
    if where is None:
        raise TableFormatError(f"{output} is plain Parquet: no table format to read")
    if catalog:
        where = dataclasses.replace(where, catalog=catalog)
    return conformed(_module(where.format).read(where, table, as_of), TABLES[table])


def conformed(found: pa.Table, schema: pa.Schema) -> pa.Table:
    """A format's table with the pipeline's Arrow types (Iceberg reads strings as ``large_string``); columns
    the pipeline does not know (added by a later release) kept as they are."""
    fields = [schema.field(f.name) if f.name in schema.names else f for f in found.schema]
    return found.cast(pa.schema(fields))


def maintain(output: str, retention_hours: float, catalog: Optional[str] = None) -> dict:
    """The format's own clean-up, after a compaction: files no commit within ``retention_hours`` needs are
    deleted (Delta ``vacuum``; Iceberg: snapshots expired, then their files). Plain Parquet: nothing."""
    where = recorded(output)
    if where is None:
        return {}
    if catalog:
        where = dataclasses.replace(where, catalog=catalog)
    return _module(where.format).maintain(where, retention_hours)


def _without_password(uri: Optional[str]) -> Optional[str]:
    """A catalog URI fit to be written into the dataset: its password masked (``pipelines.compact`` then
    takes ``--iceberg-catalog``)."""
    return None if uri is None else re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", uri)


def version_files(root: str) -> dict[str, dict[str, str]]:
    """Each table's files in the version at ``root``: path relative to the table's folder -> where the file
    physically is (on an object store often an earlier version's folder: ``view``); not the empty files
    that only hold a schema (the format's table keeps its own)."""
    found = {}
    for table in TABLES:
        files = view.files_under(root, table)
        found[table] = {
            rel[len(table) + 1 :]: path
            for rel, path in sorted(files.items())
            if rel.endswith(".parquet") and not rel.endswith(EMPTY) and not posixpath.basename(rel).startswith(".")
        }
    return found


def link(source: str, target: str) -> None:
    """Put a version's file into a format's table folder: a hard link on a local disk (no byte copied; it
    outlives the version, for time travel), a copy of that one file elsewhere (S3: a server-side copy). A target already there (a
    commit that failed after linking) is the same file: names carry the run id, and files never change."""
    if "://" not in source or source.startswith("file://"):
        source, target = source.removeprefix("file://"), target.removeprefix("file://")
        if os.path.exists(target):
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    elif not FileSystems.exists(target):
        FileSystems.copy([source], [target])


def local_path(path: str) -> str:
    return os.path.abspath(path.removeprefix("file://")) if "://" not in path or path.startswith("file://") else path


def table_root(output: str, kind: str, table: str) -> str:
    """``OUTPUT/_delta/<table>`` or ``OUTPUT/_iceberg/<table>``: absolute, for a local output."""
    return posixpath.join(local_path(output).rstrip("/"), f"_{kind}", table)


def unread_files(folder: str, kept: set[str], before: float) -> list[str]:
    """The files under a table's folder that no kept version reads (``kept``: their full paths) and that
    are older than ``before`` (seconds since the epoch): what a format's clean-up may delete, on any store."""
    if "://" not in folder or folder.startswith("file://"):
        found = []
        for place, _, names in os.walk(folder.removeprefix("file://")):
            found += [os.path.join(place, n) for n in names if os.path.getmtime(os.path.join(place, n)) < before]
    else:
        matched = FileSystems.match([FileSystems.join(folder, "**")])[0].metadata_list
        found = [m.path for m in matched if (m.last_updated_in_seconds or 0) < before]
    return sorted(path for path in found if path not in kept)


def delete_files(paths: list[str]) -> None:
    for path in paths:
        if "://" not in path or path.startswith("file://"):
            os.remove(path.removeprefix("file://"))
    remote = [p for p in paths if "://" in p and not p.startswith("file://")]
    if remote:
        FileSystems.delete(remote)
