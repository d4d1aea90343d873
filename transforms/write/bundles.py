"""A stream's bundle of entries, committed once: its files and the entry keys it records become durable
together, so a job killed at any point and restarted writes every entry's rows exactly once.

    ROOT/_staging/<bundle>/articles/published_month=.../part-....parquet   the bundle's files, staged
    ROOT/_staging/<bundle>/_keys.txt                                      its entry keys: the commit point
                                                                          (``feed URL<TAB>key`` a line)

A bundle is written in four steps: (1) its files under ``_staging/<bundle>/`` (readers never look there),
(2) its keys in ``_keys.txt`` (one atomic rename: from here on the bundle is committed), (3) its keys in
``STATE/feeds/<feed id>/<bundle>.txt`` (``feeds/state.py``), where the poller learns what not to ingest
again, (4) its files moved to their tables and the staging folder removed. ``finish_staged``, run before a
job starts, completes what a killed job left: a bundle with keys is rolled forward (steps 3 and 4 again: both are idempotent), one
without is removed (none of its entries was recorded, so the restarted job polls them again).
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Iterable
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from transforms.feeds.state import from_bundle_line, record_ingested_keys
from transforms.files import ensure_folder, write_atomically

STAGING = "_staging"  # under a version's root: bundles written but not yet in their tables
KEYS = "_keys.txt"  # in a bundle's staging folder: its entry keys; present once the bundle is committed


def bundle_name(run_id: str, tables: Iterable[str], keys: Iterable[str]) -> str:
    """A name from the bundle's content: a runner that retries the bundle writes the same files again
    instead of a second copy of them."""
    text = "\n".join([run_id, *sorted(tables), "", *sorted(keys)])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def staging_folder(root: str, bundle: str) -> str:
    return FileSystems.join(root, STAGING, bundle)


def staged_path(root: str, bundle: str, path: str) -> str:
    """Where ``path`` (a file in one of ``root``'s tables) waits until its bundle is committed."""
    return FileSystems.join(staging_folder(root, bundle), _relative(path, root))


def mark_committed(root: str, bundle: str, keys: Iterable[str]) -> None:
    """The commit point: the bundle's keys beside its staged files, written in one rename."""
    data = "\n".join(sorted(set(keys))).encode("utf-8")
    write_atomically(FileSystems.join(staging_folder(root, bundle), KEYS), lambda sink: sink.write(data))


def publish_staged(root: str, bundle: str) -> list[str]:
    """Move a committed bundle's staged files into their tables, then remove its staging folder (its keys
    last); returns the paths moved."""
    folder = staging_folder(root, bundle)
    moved = []
    for path in _files(folder):
        relative = _relative(path, folder)
        if relative == KEYS or posixpath.basename(relative).startswith("."):
            continue  # the marker goes last; a dot-file is a temporary file a kill left half written
        target = FileSystems.join(root, relative)
        ensure_folder(posixpath.dirname(target))
        if FileSystems.exists(target):  # the same bundle written again (a retry): the same rows
            FileSystems.delete([target])
        FileSystems.rename([path], [target])
        moved.append(target)
    _remove(folder)
    return moved


def staged_keys(root: str, bundle: str) -> Optional[set[str]]:
    """A staged bundle's keys, or None when it was not committed."""
    marker = FileSystems.join(staging_folder(root, bundle), KEYS)
    if not FileSystems.exists(marker):
        return None
    with FileSystems.open(marker) as handle:
        return {line for line in handle.read().decode("utf-8").splitlines() if line}


def finish_staged(root: str, state_dir: Optional[str]) -> tuple[int, int]:
    """Complete the bundles a killed job left under ``root``: a committed one is recorded and moved into
    its tables, an uncommitted one removed. Returns (bundles finished, bundles removed)."""
    folder = FileSystems.join(root, STAGING)
    bundles = sorted({_relative(path, folder).split("/")[0] for path in _files(folder)})
    finished = removed = 0
    for bundle in bundles:
        keys = staged_keys(root, bundle)
        if keys is None:
            _remove(staging_folder(root, bundle))
            removed += 1
            continue
        if state_dir:
            record_ingested_keys(state_dir, map(from_bundle_line, keys), bundle)
        publish_staged(root, bundle)
        finished += 1
    if finished or removed:
        logging.getLogger(__name__).warning(
            "a killed stream left %d bundles committed (now moved into their tables) and %d not (removed: their "
            "entries are polled again)",
            finished,
            removed,
        )
    return finished, removed


def _files(folder: str) -> list[str]:
    return [m.path for m in FileSystems.match([FileSystems.join(folder, "**")])[0].metadata_list]


def _relative(path: str, folder: str) -> str:
    return posixpath.relpath(path, folder)


def _remove(folder: str) -> None:
    """Remove a staging folder, its keys last: a committed bundle killed while being removed is still
    committed, and finishing it again moves nothing and records the same keys."""
    files = _files(folder)
    marker = [p for p in files if posixpath.basename(p) == KEYS]
    rest = [p for p in files if p not in marker]
    if rest:
        FileSystems.delete(rest)
    if marker:
        FileSystems.delete(marker)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])
