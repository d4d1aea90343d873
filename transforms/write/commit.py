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
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
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
from transforms.write.parquet import TABLES, table_files, write_empty_table

VERSIONS = "_versions"  # every version, one folder each, named by run id
CURRENT = "_current"  # local filesystems: the link to the committed version
POINTER_OBJECT = "_CURRENT"  # object stores: the object naming the committed version
LOCK, SUCCESS, MANIFEST, STATE = "_lock", "_SUCCESS", "_manifest.json", "_state"
RETIRED = "_RETIRED"  # object stores: a version no longer kept whose files kept versions still list (retention)
LEGACY = "legacy"  # the version a dataset written before versions becomes
VISIBLE = (*TABLES, STATE, SUCCESS, MANIFEST)  # the names readers use, linked to the committed version


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


def ensure_tables(root: str, run_id: str) -> None:
    """Every table readable, with its schema, even one no run has had a row for yet; and the state folder."""
    for table in TABLES:
        if not view.match(FileSystems.join(root, table, "**")):
            write_empty_table(root, table, run_id)
    ensure_folder(FileSystems.join(root, STATE))


def seal(version: Version, manifest: dict) -> None:
    """Write the version's manifest, then ``_SUCCESS``: the evidence that the run finished. The manifest
    says where the version's state is (``state_dir``), so the next run, or compaction, finds it."""
    ensure_tables(version.root, version.run_id)
    if not is_local(version.output):
        view.seal_files(version.root, frozenset(version.removed))
        if version.state_dir:
            view.seal_files(version.state, frozenset(version.removed))
    manifest = {**manifest, "state_dir": version.state_dir}
    if version.migrated:
        manifest["migrated"] = version.migrated
    data = json.dumps(manifest, indent=1, sort_keys=True, default=str).encode("utf-8")
    write_atomically(FileSystems.join(version.root, MANIFEST), lambda sink: sink.write(data))
    write_atomically(FileSystems.join(version.root, SUCCESS), lambda sink: sink.write(b""))
    check_lease(version)  # before the table formats' commits, which follow the seal


def check_lease(version: Version) -> None:
    """On S3, that this run still holds its lease (renewed now): a run stalled past it, whose lease another
    run took, commits nothing, neither its tables nor its pointer."""
    lease = objects.held(version.output)
    if lease is not None and (lease.lost or not lease.renew()):
        raise DatasetError(f"run {version.run_id} lost its lease on {version.output} to another run: not committed")


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


def _children(folder: str) -> list[str]:
    if is_local(folder):
        return sorted(os.listdir(_local(folder))) if os.path.isdir(_local(folder)) else []
    if objects.is_s3(folder):
        return objects.children(folder)
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
