"""Runs that commit atomically: a run writes a new version of the dataset beside the old one and makes it
visible in one step, only once everything has been written.

    OUTPUT/_versions/<run>/articles/...       a version: every table and the state of one run's result
    OUTPUT/_current -> _versions/<run>        the one pointer, replaced in one rename
    OUTPUT/articles -> _current/articles      what readers glob (also entities, duplicates, errors, feeds,
    OUTPUT/_state   -> _current/_state        _state and _SUCCESS), made once
    STATE_DIR/_versions/<run>/                with ``--state-dir``: the version's state, kept outside

On a local filesystem the pointer is a symbolic link: ``rename`` replaces it atomically, so a reader that
globs ``OUTPUT/articles/**/*.parquet`` sees the previous run's files or this run's, never a mix and never
nothing. An append version starts as hard links to the previous version's files (no data copied), an
overwrite version empty. A run that fails or is killed leaves the pointer where it was; the next run
removes the version it left; a pointer that is missing (while a committed version exists), dangling or
not a link is refused, never answered by removing versions (``python -m pipelines.repair`` re-points it).
State kept outside OUTPUT (``--state-dir``) is versioned the same way, by run id, and committed by the
same pointer: the committed state is the one of the committed version.

On object stores (no links, no atomic rename of folders) the pointer is the object ``OUTPUT/_CURRENT``
naming the version, replaced only by a conditional put (``If-Match`` the etag read when the run began,
``If-None-Match: *`` for the first): of two runs that began from one version, one commits and the other
is refused. A lease object ``OUTPUT/_lock`` keeps a second run from starting at all (``objects.Lease``).
Nothing is copied: a version folder holds the files its run wrote and names its base version; sealed, it
lists every file it has, its own and its base's (``transforms.sink.view``), and readers read that list
(``transforms.sink.read.read_table``; see docs/dataset.md).

The versions' names and their reading are ``versions``'s, the seal (and the late seal of a stream's version
left unsealed) ``seal``'s; this module re-exports them, so that the protocol has one interface.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import posixpath
import shutil
import uuid
from collections.abc import Iterator
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.files import StateFileError, check_state_files, ensure_folder, write_atomically
from transforms.sink import migrate, objects, view
from transforms.sink.view import is_local
from transforms.write.parquet import TABLES, table_files
from transforms.write.seal import check_lease, ensure_tables, seal, seal_unsealed
from transforms.write.versions import (
    CURRENT,
    LEGACY,
    LOCK,
    MANIFEST,
    POINTER_OBJECT,
    REPAIR,
    RETIRED,
    STATE,
    SUCCESS,
    VERSIONS,
    VISIBLE,
    DatasetError,
    Version,
    _children,
    _local,
    _manifest,
    _state_of,
    check_pointer,
    committed_versions,
    current_version,
    pointer_object,
    state_dir_of,
    state_folder,
)

__all__ = [  # the protocol's one interface: the versions' names and reading (``versions``), the seal (``seal``)
    "CURRENT", "LEGACY", "LOCK", "MANIFEST", "POINTER_OBJECT", "REPAIR", "RETIRED", "STATE", "SUCCESS", "VERSIONS",
    "VISIBLE", "DatasetError", "Version", "_manifest", "abandon", "adopt_legacy", "begin", "check_lease",
    "check_output", "check_pointer", "committed_versions", "current_version", "ensure_tables", "exclusive",
    "lease_seconds", "pointer_object", "publish", "remove_stray_pointers", "remove_uncommitted", "remove_version",
    "seal", "stale_tables", "state_dir_of", "state_folder",
]  # fmt: skip


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
    """Hold the output's lock for a run: two runs writing one dataset at once is refused, not raced. On S3
    the lock is a lease object (``objects.Lease``): a run killed without releasing it holds it until it
    expires (``objects.LEASE_SECONDS``, renewed by the living run)."""
    if objects.is_s3(output):
        path = FileSystems.join(output, LOCK)
        try:
            with objects.leased(path, lease_seconds()) as lease:
                objects._held[output] = lease
                try:
                    yield
                finally:
                    objects._held.pop(output, None)
        except objects.PreconditionFailed as e:
            raise DatasetError(f"another run is writing to {output} (its lease {e} is live)") from None
        return
    if not is_local(output):
        yield
        return
    path = os.path.join(_local(output), LOCK)
    try:
        handle = open(path, "a+b")  # noqa: SIM115 (closed by the with below; the open alone is guarded)
    except OSError as e:
        raise DatasetError(f"{output} is not writable (cannot take its lock {path}: {e.strerror or e})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(f"another run is writing to {output} (it holds {path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lease_seconds() -> float:
    """How long a lease on an object store lasts unrenewed (``NEWS_LEASE_SECONDS``, for tests that kill
    a run; ``objects.LEASE_SECONDS`` by default)."""
    return float(os.environ.get("NEWS_LEASE_SECONDS") or objects.LEASE_SECONDS)


def begin(output: str, run_id: str, append: bool, state_dir: Optional[str] = None) -> Version:
    """Clear what dead runs left, then lay out this run's version: empty, or (append) the committed one's
    files and state linked in (on an object store: named as its base, nothing copied). Nothing a reader
    sees changes. A broken pointer is refused first."""
    adopt_legacy(output)
    previous = check_pointer(output)
    remove_stray_pointers(output)
    if append and previous:
        seal_unsealed(output, previous, state_dir, by=run_id)  # a stream's, left unsealed: sealed, or refused
    remove_uncommitted(output, state_dir)
    version = Version(output, run_id, previous, state_dir, pointer_object(output)[1] if not is_local(output) else None)
    if append and previous:
        root = FileSystems.join(output, VERSIONS, previous)
        stale = stale_tables(root)
        refused = {table: why for table, found in stale.items() if (why := migrate.difference(found, TABLES[table]))}
        if refused:
            raise DatasetError(
                f"{output} holds {', '.join(refused)} written with another schema ("
                + "; ".join(f"{t}: {why}" for t, why in refused.items())
                + "): appending would mix the two; run once with --write_mode overwrite"
            )
        previous_state, flat = _state_of(output, previous)
        if not is_local(output):
            _start_views(version, root, previous_state)
        try:
            check_state_files(version.state if not is_local(output) else previous_state)
        except StateFileError as e:
            raise DatasetError(str(e)) from None
        if is_local(output):
            _link_tree(root, version.root, skip=(SUCCESS, MANIFEST, STATE))
            _link_tree(previous_state, version.state, skip=(VERSIONS,) if flat else ())
        for table in stale:  # an earlier release's tables: today's columns added, in this version
            version.migrated[table] = migrate.add_columns(version.root, table, TABLES[table], version.removed)
    elif not is_local(output):
        _start_views(version, None, None)
    elif not FileSystems.exists(version.root):
        FileSystems.mkdirs(version.root)
    ensure_folder(version.state)
    return version


def _start_views(version: Version, root: Optional[str], state: Optional[str]) -> None:
    """An object store's new version: its folder (and its state's, when kept apart) names the folder it
    starts from; nothing is copied."""
    view.write_base(version.root, root)
    if version.state_dir:
        view.write_base(version.state, state)
    elif state and state != FileSystems.join(root, STATE):
        raise DatasetError(f"the committed state of {version.output} is in {state}: run with --state-dir set to it")


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


def publish(version: Version) -> None:
    """Move the pointer to the version: from now on readers see it, all at once. The version it replaces
    stays on disk for readers in flight until the next run begins."""
    if is_local(version.output):
        output = _local(version.output)
        _ensure_links(output)
        temporary = os.path.join(output, f".{CURRENT}.{uuid.uuid4().hex[:8]}")
        os.symlink(os.path.join(VERSIONS, version.run_id), temporary)
        os.replace(temporary, os.path.join(output, CURRENT))
    elif objects.is_s3(version.output):
        check_lease(version)
        pointer = FileSystems.join(version.output, POINTER_OBJECT)
        try:
            objects.put(pointer, version.run_id.encode("utf-8"), if_absent=not version.pointer_tag, if_match=version.pointer_tag)
        except objects.PreconditionFailed:
            raise DatasetError(
                f"another run committed to {version.output} after run {version.run_id} began: not committed"
            ) from None
    else:
        name = version.run_id.encode("utf-8")
        write_atomically(FileSystems.join(version.output, POINTER_OBJECT), lambda sink: sink.write(name))


def abandon(version: Version) -> None:
    """A failed run: remove its version and its state; the committed ones are untouched."""
    remove_version(version.output, version.run_id)
    if version.state_dir:
        remove_version(version.state_dir, version.run_id)


def remove_version(output: str, run_id: str) -> None:
    root = FileSystems.join(output, VERSIONS, run_id)
    if is_local(output):
        shutil.rmtree(_local(root), ignore_errors=True)
    elif objects.is_s3(output):
        objects.remove_folder(root)
    elif FileSystems.exists(root):
        FileSystems.delete([root])


def adopt_legacy(output: str) -> None:
    """A dataset written before runs were versioned (its tables are real folders) becomes the committed
    version ``legacy``: moved, not copied, and finished by the next run if this one is killed midway."""
    if not is_local(output) or current_version(output):
        return
    local = _local(output)
    legacy = os.path.join(local, VERSIONS, LEGACY)
    real = [n for n in VISIBLE if os.path.exists(os.path.join(local, n)) and not os.path.islink(os.path.join(local, n))]
    if not real and not os.path.isdir(legacy):
        return
    if set(committed_versions(output)) - {LEGACY}:  # not an adoption cut short: a lost pointer (check_pointer)
        return
    output = local
    os.makedirs(legacy, exist_ok=True)
    for name in real:
        os.replace(os.path.join(output, name), os.path.join(legacy, name))
    publish(Version(output, LEGACY, None))


def remove_uncommitted(output: str, state_dir: Optional[str] = None) -> None:
    """Versions that are not the committed one were left by runs that died (or were replaced): removed
    with their state (where the manifest says, else in ``state_dir``, this run's). Only this dataset's
    run ids are removed from a state folder, so one shared by two outputs loses nothing. Call only once
    ``check_pointer`` has passed."""
    folder = FileSystems.join(output, VERSIONS)
    if is_local(output) and not FileSystems.exists(folder):
        return
    current = current_version(output)
    holders = view.holders(folder, current) if current and not is_local(output) else set()
    for run_id in _children(folder):
        if run_id in holders:  # holds files the committed version lists: no request needed to know it is kept
            continue
        if not is_local(output) and any(FileSystems.exists(FileSystems.join(folder, run_id, n)) for n in (SUCCESS, RETIRED)):
            continue  # an object store's committed versions hold files later ones list: ``retention``'s to delete
        if run_id != current:
            external = state_dir_of(output, run_id) or state_dir
            if external:
                remove_version(external, run_id)
            remove_version(output, run_id)


def remove_stray_pointers(output: str) -> None:
    """``._current.<hex>`` links that a run killed inside ``publish`` left (under the lock: no run is
    publishing)."""
    if not is_local(output):
        return
    folder = _local(output)
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if name.startswith(f".{CURRENT}.") and os.path.islink(path):
            os.remove(path)


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
