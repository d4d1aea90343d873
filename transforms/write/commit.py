"""Runs that commit atomically: a run writes a new version of the dataset beside the old one and makes it
visible in one step, only once everything has been written.

    OUTPUT/_versions/<run>/articles/...       a version: every table and the state of one run's result
    OUTPUT/_current -> _versions/<run>        the one pointer, replaced in one rename
    OUTPUT/articles -> _current/articles      what readers glob (also entities, duplicates, errors, feeds,
    OUTPUT/_state   -> _current/_state        _state and _SUCCESS), made once

On a local filesystem the pointer is a symbolic link: ``rename`` replaces it atomically, so a reader that
globs ``OUTPUT/articles/**/*.parquet`` sees the previous run's files or this run's, never a mix and never
nothing. An append version starts as hard links to the previous version's files (no data copied), an
overwrite version empty. A run that fails or is killed leaves the pointer where it was; the next run
removes the version it left. On object stores (no links, no atomic rename of folders) the pointer is the
object ``OUTPUT/_CURRENT`` naming the version, and readers read ``OUTPUT/_versions/<that>/`` (see
docs/dataset.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import posixpath
import shutil
import uuid
from collections.abc import Iterator
from typing import Optional

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import ensure_folder, write_atomically
from transforms.write.parquet import TABLES, table_files, write_empty_table

VERSIONS = "_versions"  # every version, one folder each, named by run id
CURRENT = "_current"  # local filesystems: the link to the committed version
POINTER_OBJECT = "_CURRENT"  # object stores: the object naming the committed version
LOCK, SUCCESS, MANIFEST, STATE = "_lock", "_SUCCESS", "_manifest.json", "_state"
LEGACY = "legacy"  # the version a dataset written before versions becomes
VISIBLE = (*TABLES, STATE, SUCCESS, MANIFEST)  # the names readers use, linked to the committed version


class DatasetError(Exception):
    """The output folder cannot take this run (not a folder, not writable, in use): said before any work."""


def is_local(output: str) -> bool:
    return "://" not in output or output.startswith("file://")


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


@dataclasses.dataclass(frozen=True)
class Version:
    """Where a run writes (``root``), and what it replaces when it commits."""

    output: str
    run_id: str
    previous: Optional[str]  # the committed version this one starts from or replaces, if any

    @property
    def root(self) -> str:
        return FileSystems.join(self.output, VERSIONS, self.run_id)


def current_version(output: str) -> Optional[str]:
    """The committed version's run id, or None when nothing was committed yet."""
    if is_local(output):
        pointer = os.path.join(_local(output), CURRENT)
        return os.path.basename(os.readlink(pointer)) if os.path.islink(pointer) else None
    pointer = FileSystems.join(output, POINTER_OBJECT)
    if not FileSystems.exists(pointer):
        return None
    with FileSystems.open(pointer) as handle:
        return handle.read().decode("utf-8").strip() or None


def check_output(output: str) -> None:
    """Refuse an output that is a file, cannot be created or is not writable; touches no dataset."""
    if not is_local(output):
        return  # an object store answers only when written to
    path = _local(output)
    if os.path.exists(path) and not os.path.isdir(path):
        raise DatasetError(f"--output {output} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".probe-{uuid.uuid4().hex[:8]}")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as e:
        raise DatasetError(f"--output {output} is not writable: {e.strerror or e}") from None


@contextlib.contextmanager
def exclusive(output: str) -> Iterator[None]:
    """Hold the output's lock for a run: two runs writing one dataset at once is refused, not raced."""
    if not is_local(output):
        yield
        return
    path = os.path.join(_local(output), LOCK)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(f"another run is writing to {output} (it holds {path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def begin(output: str, run_id: str, append: bool) -> Version:
    """Clear what dead runs left, then lay out this run's version: empty, or (append) the committed one's
    files linked in. Nothing a reader sees changes."""
    adopt_legacy(output)
    remove_uncommitted(output)
    previous = current_version(output)
    version = Version(output, run_id, previous)
    if append and previous:
        stale = stale_tables(FileSystems.join(output, VERSIONS, previous))
        if stale:
            raise DatasetError(
                f"{output} holds {', '.join(stale)} written with another schema (an earlier version of this "
                "pipeline): appending would mix the two; run once with --write_mode overwrite"
            )
        _link_tree(FileSystems.join(output, VERSIONS, previous), version.root, skip=(SUCCESS, MANIFEST))
    elif not FileSystems.exists(version.root):
        FileSystems.mkdirs(version.root)
    return version


def stale_tables(root: str) -> list[str]:
    """The tables of a version whose files do not have today's schema (one file of each is read)."""
    stale = []
    for table, schema in TABLES.items():
        files = table_files(root, table)
        if files:
            with FileSystems.open(files[0]) as handle:
                if not pq.read_schema(handle).equals(schema):
                    stale.append(table)
    return stale


def ensure_tables(root: str, run_id: str) -> None:
    """Every table readable, with its schema, even one no run has had a row for yet; and the state folder."""
    for table in TABLES:
        if not FileSystems.exists(FileSystems.join(root, table)):
            write_empty_table(root, table, run_id)
    ensure_folder(FileSystems.join(root, STATE))


def seal(version: Version, manifest: dict) -> None:
    """Write the version's manifest, then ``_SUCCESS``: the evidence that the run finished."""
    ensure_tables(version.root, version.run_id)
    data = json.dumps(manifest, indent=1, sort_keys=True, default=str).encode("utf-8")
    write_atomically(FileSystems.join(version.root, MANIFEST), lambda sink: sink.write(data))
    write_atomically(FileSystems.join(version.root, SUCCESS), lambda sink: sink.write(b""))


def publish(version: Version) -> None:
    """Move the pointer to the version: from now on readers see it, all at once. The version it replaces
    stays on disk for readers in flight until the next run begins."""
    if is_local(version.output):
        output = _local(version.output)
        _ensure_links(output)
        temporary = os.path.join(output, f".{CURRENT}.{uuid.uuid4().hex[:8]}")
        os.symlink(os.path.join(VERSIONS, version.run_id), temporary)
        os.replace(temporary, os.path.join(output, CURRENT))
    else:
        name = version.run_id.encode("utf-8")
        write_atomically(FileSystems.join(version.output, POINTER_OBJECT), lambda sink: sink.write(name))


def commit(version: Version, manifest: dict) -> None:
    """A batch run's end: seal the version, then publish it."""
    seal(version, manifest)
    publish(version)


def abandon(version: Version) -> None:
    """A failed run: remove its version; the committed one is untouched."""
    remove_version(version.output, version.run_id)


def remove_version(output: str, run_id: str) -> None:
    root = FileSystems.join(output, VERSIONS, run_id)
    if is_local(output):
        shutil.rmtree(_local(root), ignore_errors=True)
    elif FileSystems.exists(root):
        FileSystems.delete([root])


def adopt_legacy(output: str) -> None:
    """A dataset written before runs were versioned (its tables are real folders) becomes the committed
    version ``legacy``: moved, not copied, and finished by the next run if this one is killed midway."""
    if not is_local(output) or current_version(output):
        return
    output = _local(output)
    legacy = os.path.join(output, VERSIONS, LEGACY)
    real = [
        name for name in VISIBLE if os.path.exists(os.path.join(output, name)) and not os.path.islink(os.path.join(output, name))
    ]
    if not real and not os.path.isdir(legacy):
        return
    os.makedirs(legacy, exist_ok=True)
    for name in real:
        os.replace(os.path.join(output, name), os.path.join(legacy, name))
    publish(Version(output, LEGACY, None))


def remove_uncommitted(output: str) -> None:
    """Versions that are not the committed one were left by runs that died (or were replaced)."""
    folder = FileSystems.join(output, VERSIONS)
    if not FileSystems.exists(folder):
        return
    current = current_version(output)
    for run_id in _children(folder):
        if run_id != current:
            remove_version(output, run_id)


def _children(folder: str) -> list[str]:
    if is_local(folder):
        return sorted(os.listdir(_local(folder)))
    matched = FileSystems.match([FileSystems.join(folder, "*")])[0].metadata_list
    return sorted({posixpath.relpath(m.path, folder).split("/")[0] for m in matched})


def _ensure_links(output: str) -> None:
    """The fixed links from the visible names to the pointer; refuses to replace a real folder."""
    for name in VISIBLE:
        link = os.path.join(output, name)
        if os.path.islink(link):
            continue
        if os.path.exists(link):
            raise DatasetError(f"{link} is a real file or folder, not this dataset's link: move it away first")
        os.symlink(os.path.join(CURRENT, name), link)


def _link_tree(source: str, target: str, skip: tuple[str, ...] = ()) -> None:
    """Hard-link every file of ``source`` into ``target`` (copies where links are impossible)."""
    if not is_local(source):
        matched = FileSystems.match([FileSystems.join(source, "**")])[0].metadata_list
        for m in matched:
            relative = posixpath.relpath(m.path, source)
            if relative.split("/")[0] not in skip:
                FileSystems.copy([m.path], [FileSystems.join(target, relative)])
        return
    source, target = _local(source), _local(target)
    for folder, _, files in os.walk(source):
        relative = os.path.relpath(folder, source)
        if relative.split(os.sep)[0] in skip:
            continue
        os.makedirs(os.path.join(target, relative), exist_ok=True)
        for name in files:
            if relative == "." and name in skip or name.startswith("."):
                continue
            try:
                os.link(os.path.join(folder, name), os.path.join(target, relative, name))
            except OSError:
                shutil.copy2(os.path.join(folder, name), os.path.join(target, relative, name))
