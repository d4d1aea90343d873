"""A dataset's versions and the pointer to the committed one: where they are and how they are read (the
writing of them is ``commit``'s, their sealing ``seal``'s).

    OUTPUT/_versions/<run>/articles/...       a version: every table and the state of one run's result
    OUTPUT/_current -> _versions/<run>        local filesystems: the one pointer, a symbolic link
    OUTPUT/_CURRENT                           object stores: the one pointer, an object naming the version
    STATE_DIR/_versions/<run>/                with ``--state-dir``: the version's state, kept outside
    OUTPUT/_runs/<run>.json                   every run's stats, committed or not (``pipelines.stats``)

A pointer that exists but names no version is a ``DatasetError``, never "nothing committed" (which would
make the next run remove every version).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import posixpath
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.sink import objects
from transforms.sink.view import is_local
from transforms.write.parquet import TABLES, table_files

VERSIONS = "_versions"  # every version, one folder each, named by run id
CURRENT = "_current"  # local filesystems: the link to the committed version
POINTER_OBJECT = "_CURRENT"  # object stores: the object naming the committed version
LOCK, SUCCESS, MANIFEST, STATE = "_lock", "_SUCCESS", "_manifest.json", "_state"
RETIRED = "_RETIRED"  # object stores: a version no longer kept whose files kept versions still list (retention)
LEGACY = "legacy"  # the version a dataset written before versions becomes
VISIBLE = (*TABLES, STATE, SUCCESS, MANIFEST)  # the names readers use, linked to the committed version
RUNS = "_runs"  # every run's stats file, <run>.json (``pipelines.stats``); a late seal reads a stream's
ACCOUNTING_MISMATCH = "accounting mismatch"  # a run's status in its stats file when its accounting broke


class DatasetError(Exception):
    """The output folder cannot take this run (not a folder, not writable, in use): said before any work."""


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


REPAIR = "python -m pipelines.repair {output}"  # what a refusal of a broken pointer tells the operator to run


@dataclasses.dataclass(frozen=True)
class Version:
    """Where a run writes (``root``, ``state``), and what it replaces when it commits."""

    output: str
    run_id: str
    previous: Optional[str]  # the committed version this one starts from or replaces, if any
    state_dir: Optional[str] = None  # ``--state-dir``: state kept outside OUTPUT, one folder per version
    pointer_tag: Optional[str] = None  # object stores: the etag of ``_CURRENT`` when the run began
    migrated: dict = dataclasses.field(default_factory=dict)  # table -> files given today's columns (``migrate``)
    removed: list = dataclasses.field(default_factory=list)  # object stores: base files left out (compacted)

    @property
    def root(self) -> str:
        return FileSystems.join(self.output, VERSIONS, self.run_id)

    @property
    def state(self) -> str:
        return state_folder(self.root, self.state_dir)


def state_folder(root: str, state_dir: Optional[str]) -> str:
    """A version's state: inside it, or, with ``--state-dir``, in that folder under the same run id, so
    that it is committed, dropped and removed with the version (a shared, unversioned state folder made
    reruns skip files no committed version holds)."""
    if not state_dir:
        return FileSystems.join(root, STATE)
    return FileSystems.join(state_dir, VERSIONS, posixpath.basename(root.rstrip("/")))


def current_version(output: str) -> Optional[str]:
    """The committed version's run id, or None when nothing was committed yet. A pointer that exists but
    names no version (dangling, not a link, pointing elsewhere) is a ``DatasetError``: read as "nothing
    committed", it would make the next run remove every version."""
    if is_local(output):
        pointer = os.path.join(_local(output), CURRENT)
        if not os.path.lexists(pointer):
            return None
        if not os.path.islink(pointer):
            raise _broken(output, f"{pointer} is a real {'folder' if os.path.isdir(pointer) else 'file'}, not a link")
        target = os.readlink(pointer)
        run_id = os.path.basename(target)
        if os.path.normpath(target) != os.path.join(VERSIONS, run_id) or not run_id:
            raise _broken(output, f"{pointer} points at {target}, not at a version in {VERSIONS}/")
        if not os.path.isdir(os.path.join(_local(output), VERSIONS, run_id)):
            raise _broken(output, f"{pointer} points at {target}, which does not exist")
        return run_id
    run_id, _ = pointer_object(output)
    if run_id is None:
        return None
    pointer = FileSystems.join(output, POINTER_OBJECT)
    version = FileSystems.join(output, VERSIONS, run_id)
    if not run_id or not FileSystems.match([FileSystems.join(version, "*")], limits=[1])[0].metadata_list:
        raise _broken(output, f"{pointer} names {run_id!r}, which is no version in {VERSIONS}/")
    return run_id


def pointer_object(output: str) -> tuple[Optional[str], Optional[str]]:
    """(the run id ``OUTPUT/_CURRENT`` names, its etag) on an object store; (None, None) when absent."""
    pointer = FileSystems.join(output, POINTER_OBJECT)
    if objects.is_s3(output):
        found = objects.get(pointer)
        if found is None:
            return None, None
        return found[0].decode("utf-8", errors="replace").strip(), found[1]
    if not FileSystems.exists(pointer):
        return None, None
    with FileSystems.open(pointer) as handle:
        return handle.read().decode("utf-8", errors="replace").strip(), None


def _broken(output: str, what: str) -> DatasetError:
    return DatasetError(
        f"{what}: refusing to run, since every other version would be removed as uncommitted; "
        f"re-point it at the newest committed version with: {REPAIR.format(output=output)}"
    )


def committed_versions(output: str) -> list[str]:
    """The versions that hold ``_SUCCESS`` (a finished run), the newest last (by the manifest's
    ``finished_at``, else the time ``_SUCCESS`` was written)."""
    folder = FileSystems.join(output, VERSIONS)
    if is_local(output) and not FileSystems.exists(folder):
        return []
    found = []
    for run_id in _children(folder):
        root = FileSystems.join(folder, run_id)
        if FileSystems.exists(FileSystems.join(root, SUCCESS)):
            found.append((_finished_at(root), run_id))
    return [run_id for _, run_id in sorted(found)]


def _finished_at(root: str) -> str:
    finished = _manifest(root).get("finished_at")
    if finished:
        return str(finished)
    if is_local(root):
        return dt.datetime.fromtimestamp(os.path.getmtime(os.path.join(_local(root), SUCCESS)), dt.UTC).isoformat()
    return ""


def check_pointer(output: str) -> Optional[str]:
    """The committed version, or a ``DatasetError`` when the pointer is broken: dangling, not a link, or
    missing while a committed version exists. A new output, or one whose only versions were left by killed
    runs, has no pointer and is fine."""
    current = current_version(output)
    if current is None and committed_versions(output):
        name = CURRENT if is_local(output) else POINTER_OBJECT
        raise _broken(output, f"{FileSystems.join(output, name)} is missing but {VERSIONS}/ holds committed versions")
    return current


def _manifest(root: str) -> dict:
    try:
        with FileSystems.open(FileSystems.join(root, MANIFEST)) as handle:
            manifest = json.loads(handle.read().decode("utf-8"))
        return manifest if isinstance(manifest, dict) else {}
    except (OSError, ValueError):
        return {}


def state_dir_of(output: str, run_id: Optional[str]) -> Optional[str]:
    """The ``--state-dir`` a committed version's state lives in, from its manifest (None: inside it)."""
    if not run_id:
        return None
    manifest = _manifest(FileSystems.join(output, VERSIONS, run_id))
    if "state_dir" in manifest:
        return manifest["state_dir"]
    return (manifest.get("options") or {}).get("state_dir")  # written before state was versioned


def _state_of(output: str, run_id: str) -> tuple[str, bool]:
    """Where a committed version's state is, and whether that is a ``--state-dir`` of the time before state
    was versioned (its content, apart from ``_versions``, is the state)."""
    root = FileSystems.join(output, VERSIONS, run_id)
    manifest = _manifest(root)
    state_dir = state_dir_of(output, run_id)
    if state_dir and "state_dir" not in manifest:
        return state_dir, True
    return state_folder(root, state_dir), False


def _children(folder: str) -> list[str]:
    if is_local(folder):
        return sorted(os.listdir(_local(folder))) if os.path.isdir(_local(folder)) else []
    if objects.is_s3(folder):
        return objects.children(folder)
    matched = FileSystems.match([FileSystems.join(folder, "*")])[0].metadata_list
    return sorted({posixpath.relpath(m.path, folder).split("/")[0] for m in matched})


def stale_tables(root: str) -> dict[str, pa.Schema]:
    """The tables of a version whose files do not have today's schema, with the schema they have (one file
    of each is read: a committed version's files of a table share one schema, migrations included)."""
    stale = {}
    for table, schema in TABLES.items():
        files = table_files(root, table)
        if files:
            files = sorted(files)
            with FileSystems.open(files[0]) as handle:
                found = pq.read_schema(handle)
                if not found.remove_metadata().equals(schema):
                    stale[table] = found
    return stale
