"""A version sealed: its manifest, then ``_SUCCESS``, the evidence that its run finished (on an object store
first ``_files.json``, the list of every file it has: ``transforms.sink.view``); and a version that a stream
published but never sealed (killed, or its accounting broken), sealed late by the next run that appends to
it, or refused when it cannot be verified.

A stream's version is the committed one from its start (``pipelines.run.run_stream``): readers see its files
as they are written. If the stream dies, that version stays current without a manifest, so nothing says where
its state is (``--state-dir``), and on an object store no list says which files it has: an append onto it
would start from its base's files alone, dropping the stream's rows and state. ``seal_unsealed`` first
finishes the bundles it left staged (``bundles.finish_staged``: committed bundles, moved where readers see
them), then seals it as it stands; only what cannot be verified is refused: the state in no folder this
run knows of, or, on an object store, a version that names no base (or whose ``_base.json`` cannot be
read), a base whose list is gone, or a base whose tables the stream migrated (the files it replaced were
known only to the stream).

A late seal does not pass for a run that balanced: the stream's own seal is written only when every
document is accounted for, a late one whatever its accounting was. Its manifest says ``"accounting":
"did not balance"`` when the stream's stats file (``OUTPUT/_runs/<run>.json``) says so, ``"unknown"`` when
it left none (killed) or ended otherwise (failed), and a warning says it on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import posixpath
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from transforms.files import ensure_folder, write_atomically
from transforms.sink import objects, view
from transforms.sink.view import is_local
from transforms.write.bundles import finish_staged
from transforms.write.parquet import TABLES, write_empty_table
from transforms.write.versions import (
    ACCOUNTING_MISMATCH,
    LEGACY,
    MANIFEST,
    RUNS,
    STATE,
    SUCCESS,
    VERSIONS,
    DatasetError,
    Version,
    _local,
    stale_tables,
    state_dir_of,
    state_folder,
)

log = logging.getLogger(__name__)
DID_NOT_BALANCE, UNKNOWN = "did not balance", "unknown"  # a late seal's ``accounting``


def ensure_tables(root: str, run_id: str) -> None:
    """Every table readable, with its schema, even one no run has had a row for yet; and the state folder."""
    for table in TABLES:
        if not view.match(FileSystems.join(root, table, "**")):
            write_empty_table(root, table, run_id)
    ensure_folder(FileSystems.join(root, STATE))


def seal(version: Version, manifest: dict) -> None:
    """Write the version's manifest, then ``_SUCCESS``: the evidence that the run finished. The manifest
    says where the version's state is (``state_dir``), so the next run, or compaction, finds it."""
    check_lease(version)  # a run whose lease another run took writes nothing more into the dataset
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


def seal_unsealed(output: str, run_id: str, state_dir: Optional[str], by: str) -> None:
    """Seal the committed version ``run_id`` if a stream left it unsealed (on an object store, with the
    unsealed versions it starts from, oldest first), after finishing its staged bundles; ``state_dir`` is
    this run's ``--state-dir``, ``by`` its run id (recorded in the manifest). A ``DatasetError`` when it
    cannot be verified, before anything is written."""
    if FileSystems.exists(FileSystems.join(output, VERSIONS, run_id, SUCCESS)):
        return
    if run_id == LEGACY:  # a dataset written before versions, adopted (``commit.adopt_legacy``): no stream's
        return
    chain = _unsealed_chain(output, run_id)
    found = [(run, base, _state_dir_of_unsealed(output, run, base, state_dir, record)) for run, base, record in chain]
    for run, base, kept_in in reversed(found):
        late = Version(output, run, base, kept_in)
        finish_staged(late.root, late.state)
        now = dt.datetime.now(dt.UTC).isoformat()
        accounting, why = stream_accounting(output, run)
        seal(late, {"run_id": run, "previous_version": base, "finished_at": now, "sealed_late_by": by, "accounting": accounting})
        log.warning(
            "the version %s of %s, which a stream left unsealed, is sealed late by %s as it stands: its accounting %s "
            '(%s); its manifest says "accounting": "%s"',
            run,
            output,
            by,
            DID_NOT_BALANCE if accounting == DID_NOT_BALANCE else "is unknown",
            why,
            accounting,
        )


def stream_accounting(output: str, run_id: str) -> tuple[str, str]:
    """(the late-sealed stream's ``accounting``, what its stats file says of its end): ``did not balance``
    when its status is the accounting mismatch, else ``unknown`` (no stats file: killed; another status:
    failed before its seal)."""
    path = FileSystems.join(output, RUNS, f"{run_id}.json")
    try:
        if not FileSystems.exists(path):
            return UNKNOWN, f"it left no {path}: killed"
        with FileSystems.open(path) as handle:
            status = json.loads(handle.read().decode("utf-8")).get("status")
    except Exception as e:  # damaged or unreadable: nothing says it balanced
        return UNKNOWN, f"its {path} cannot be read: {type(e).__name__}: {e}"
    return (DID_NOT_BALANCE if status == ACCOUNTING_MISMATCH else UNKNOWN), f"its status: {status}"


def _unsealed_chain(output: str, run_id: str) -> list[tuple[str, Optional[str], dict]]:
    """(version, the version it starts from, its ``_base.json``) for ``run_id`` and, on an object store, each
    unsealed version it starts from, newest first. On a local disk a version holds all its files: its base
    is not needed (and not recorded: None)."""
    if is_local(output):
        return [(run_id, None, {})]
    chain, run = [], run_id
    versions = FileSystems.join(output, VERSIONS)
    while run is not None and not FileSystems.exists(FileSystems.join(versions, run, SUCCESS)):
        if run in (r for r, _, _ in chain) or not FileSystems.exists(FileSystems.join(versions, run, view.BASE)):
            raise _unverifiable(output, run, f"it names no version it starts from ({view.BASE})")
        try:
            record = view.base_record(versions, run)
        except Exception as e:  # damaged, or the store did not answer: never sealed on a guess
            raise _unverifiable(output, run, f"its {view.BASE} cannot be read ({e})") from None
        base = record["base"]
        chain.append((run, posixpath.basename(base.rstrip("/")) if base else None, record))
        run = chain[-1][1]
    if run is not None and view.sealed_files(FileSystems.join(versions, run)) is None:
        raise _unverifiable(output, chain[-1][0], f"the version it starts from, {run}, lists no files ({view.FILES})")
    if run is not None and (stale := stale_tables(FileSystems.join(versions, run))):
        raise _unverifiable(
            output, chain[-1][0], f"the stream migrated {', '.join(stale)} of {run}, and only it knew which files it replaced"
        )
    return chain


def _state_dir_of_unsealed(
    output: str, run_id: str, base: Optional[str], state_dir: Optional[str], record: dict
) -> Optional[str]:
    """Where an unsealed version keeps its state (its ``--state-dir``; None: inside it), which no manifest
    says: on an object store its ``_base.json`` records it; a version laid out before that was recorded
    (and a local one) has it in this run's ``--state-dir`` or its base's if that holds the version's folder,
    else inside."""
    if "state_dir" in record:
        return record["state_dir"]
    root = FileSystems.join(output, VERSIONS, run_id)
    for folder in dict.fromkeys(d for d in (state_dir, state_dir_of(output, base)) if d):
        state = state_folder(root, folder)
        if os.path.isdir(_local(state)) if is_local(state) else FileSystems.exists(FileSystems.join(state, view.BASE)):
            return folder
    if is_local(output) and not os.path.isdir(_local(state_folder(root, None))):
        raise _unverifiable(
            output, run_id, f"its state is not in {state_folder(root, None)}: run with --state-dir set to the stream's"
        )
    return None


def _unverifiable(output: str, run_id: str, why: str) -> DatasetError:
    return DatasetError(
        f"the committed version {run_id} of {output} was published by a stream that never sealed it, and it "
        f"cannot be verified: {why}; nothing written"
    )
