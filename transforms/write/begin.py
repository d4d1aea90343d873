"""A run's version laid out, and what dead runs left cleared first: an append's version starts from the
committed one (on a local disk its files and state hard-linked in; on an object store naming it as its
base, nothing copied), an overwrite's empty; a dataset written before versions adopted as the version
``legacy``; a stream's version left unsealed sealed first (``seal.seal_unsealed``); tables of an earlier
release given today's columns (``migrate``), another schema refused. Nothing a reader sees changes."""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from transforms.files import StateFileError, check_state_files, ensure_folder, remove_folder
from transforms.sink import migrate, view
from transforms.sink.view import is_local
from transforms.write.parquet import TABLES
from transforms.write.pointer import publish
from transforms.write.seal import seal_unsealed
from transforms.write.versions import (
    CURRENT,
    LEGACY,
    MANIFEST,
    RETIRED,
    STATE,
    SUCCESS,
    VERSIONS,
    VISIBLE,
    DatasetError,
    Version,
    _children,
    _local,
    _state_of,
    check_pointer,
    committed_versions,
    current_version,
    pointer_object,
    stale_tables,
    state_dir_of,
)


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
    view.write_base(version.root, root, version.state_dir)
    if version.state_dir:
        view.write_base(version.state, state)
    elif state and state != FileSystems.join(root, STATE):
        raise DatasetError(f"the committed state of {version.output} is in {state}: run with --state-dir set to it")


def remove_version(output: str, run_id: str) -> None:
    remove_folder(FileSystems.join(output, VERSIONS, run_id))


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
