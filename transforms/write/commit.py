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

The protocol by concern, each module read in one sitting (imports one way: versions <- seal <- pointer <-
begin <- commit): ``versions`` (the versions and the pointer, read), ``seal`` (a version sealed; a stream's
left unsealed, sealed late), ``pointer`` (the pointer moved), ``begin`` (a run's version laid out, dead
runs' cleared); this module holds the lock and the abandon, and re-exports the others' names: the
protocol's one interface.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator

from apache_beam.io.filesystems import FileSystems

from transforms.sink import objects
from transforms.sink.view import is_local
from transforms.write.begin import (
    adopt_legacy,
    begin,
    remove_stray_pointers,
    remove_uncommitted,
    remove_version,
    stale_tables,
)
from transforms.write.pointer import publish
from transforms.write.seal import check_lease, ensure_tables, seal
from transforms.write.versions import (
    ACCOUNTING_MISMATCH,
    CURRENT,
    LEGACY,
    LOCK,
    MANIFEST,
    POINTER_OBJECT,
    REPAIR,
    RETIRED,
    RUNS,
    STATE,
    SUCCESS,
    VERSIONS,
    VISIBLE,
    DatasetError,
    Version,
    _local,
    _manifest,
    check_pointer,
    committed_versions,
    current_version,
    pointer_object,
    state_dir_of,
    state_folder,
)

__all__ = [  # the protocol's one interface: ``versions``, ``seal``, ``pointer``, ``begin`` and this module
    "ACCOUNTING_MISMATCH", "CURRENT", "LEGACY", "LOCK", "MANIFEST", "POINTER_OBJECT", "REPAIR", "RETIRED", "RUNS",
    "STATE", "SUCCESS", "VERSIONS",
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


def abandon(version: Version) -> None:
    """A failed run: remove its version and its state; the committed ones are untouched."""
    remove_version(version.output, version.run_id)
    if version.state_dir:
        remove_version(version.state_dir, version.run_id)
