"""Retention on an object store: which committed versions are kept, and the objects no kept version lists,
deleted (``python -m pipelines.compact``, under the lease).

On S3 nothing is copied: a version lists its files (``_files.json``), many of them in earlier versions'
folders, so no version folder can be removed whole while a later version lists one of its files, and the
dedupe index's tidy cannot delete the files it merges (earlier versions share them). Instead:

- the committed history is the chain from ``_CURRENT`` back through each manifest's ``previous_version``
  (exact: a version commits only if the pointer still named its previous version);
- a version is **kept** when it is one of the newest ``keep`` of that chain (the current one always) or
  finished within ``horizon`` seconds: it stays readable (``read_table(..., as_of=...)``);
- every object under ``_versions/<run>/`` (and ``STATE_DIR/_versions/<run>/``) of a version that is not kept
  is deleted unless a kept version lists it. A retired version that still holds listed files first gets
  the marker ``_RETIRED``, then loses its ``_SUCCESS``, manifest and lists: it is no longer a version,
  only a holder of files, and the next run never takes it for a dead run's folder
  (``commit.remove_uncommitted``). Once nothing in it is listed, the marker goes too.

Deleting only what no kept version lists keeps every kept version whole, whatever order the deletes run
in; a vacuum cut short leaves objects that the next one deletes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from apache_beam.io.filesystems import FileSystems

from transforms.sink import objects, view
from transforms.write.commit import (
    MANIFEST,
    RETIRED,
    SUCCESS,
    VERSIONS,
    DatasetError,
    _manifest,
    current_version,
    state_dir_of,
)


@dataclasses.dataclass
class Vacuumed:
    kept: list[str]  # the versions kept, newest first
    retired: list[str]  # the versions no longer kept, whose listed objects remain (marked _RETIRED)
    removed: list[str]  # the version folders emptied
    deleted: int  # objects deleted


def history(output: str) -> list[tuple[str, Optional[dt.datetime]]]:
    """The committed versions, newest first, with the time each finished: ``_CURRENT`` and its manifests'
    ``previous_version`` back to the first (or to the first one already retired or deleted). The current
    version unsealed, or an earlier link unsealed but not empty (a stream killed after publishing its
    version), stops everything: a chain cut there would leave the versions before it unlisted, so deleted."""
    found = []
    run_id = current_version(output)
    seen = set()
    while run_id and run_id not in seen:
        seen.add(run_id)
        root = FileSystems.join(output, VERSIONS, run_id)
        if FileSystems.exists(FileSystems.join(root, RETIRED)):
            break
        if not FileSystems.exists(FileSystems.join(root, SUCCESS)):
            if found and next(objects.keys(root), None) is None:
                break  # removed by an earlier vacuum
            raise DatasetError(
                f"version {run_id} of {output} is in the history but not sealed (a stream killed after "
                "publishing it?): nothing vacuumed"
            )
        manifest = _manifest(root)
        found.append((run_id, _time(manifest.get("finished_at"))))
        run_id = manifest.get("previous_version")
    return found


def _time(text) -> Optional[dt.datetime]:
    try:
        found = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def kept_versions(chain: list[tuple[str, Optional[dt.datetime]]], keep: int, horizon: float, now: dt.datetime) -> list[str]:
    """The newest ``keep`` versions (at least the current one) and those finished within ``horizon``
    seconds of ``now`` (a version of unknown time is kept: nothing says it is old)."""
    cutoff = now - dt.timedelta(seconds=horizon)
    return [run for n, (run, finished) in enumerate(chain) if n < max(keep, 1) or finished is None or finished >= cutoff]


def vacuum(output: str, keep: int, horizon: float, now: Optional[dt.datetime] = None) -> Vacuumed:
    """Delete what no kept version of an S3 dataset lists (the module's docstring); call under the lease."""
    if not objects.is_s3(output):
        return Vacuumed([], [], [], 0)
    chain = history(output)
    kept = kept_versions(chain, keep, horizon, now or dt.datetime.now(dt.UTC))
    folders = {run: FileSystems.join(output, VERSIONS, run) for run in kept}
    listed: set[str] = set()
    for run in kept:
        listed.update((view.sealed_files(folders[run]) or {}).values())
        state_dir = state_dir_of(output, run)
        if state_dir:
            listed.update((view.sealed_files(FileSystems.join(state_dir, VERSIONS, run)) or {}).values())
    state_dirs = {d for d in (state_dir_of(output, run) for run in kept) if d}
    done = Vacuumed(kept, [], [], 0)
    committed = {run for run, _ in chain}
    for run in objects.children(FileSystems.join(output, VERSIONS)):
        if run in kept:
            continue
        root = FileSystems.join(output, VERSIONS, run)
        retired = FileSystems.exists(FileSystems.join(root, RETIRED))
        if run not in committed and not retired and not FileSystems.exists(FileSystems.join(root, SUCCESS)):
            continue  # a run being written, or a dead one: ``commit.remove_uncommitted``'s
        places = [root, *(FileSystems.join(d, VERSIONS, run) for d in state_dirs)]
        found = [path for place in places for path in objects.keys(place)]
        if any(path in listed for path in found):  # a holder of files kept versions list, and no more
            if not retired:
                objects.put(FileSystems.join(root, RETIRED), b"")
            gone = [path for path in found if path not in listed and not path.endswith("/" + RETIRED)]
            done.retired.append(run)
        else:
            gone = found
            done.removed.append(run)
        _delete(sorted(gone, key=lambda p: not p.endswith(("/" + SUCCESS, "/" + MANIFEST))))
        done.deleted += len(gone)
    return done


def _delete(paths: list[str]) -> None:
    """Objects deleted in batches of 1,000, ``_SUCCESS`` and the manifest first (a vacuum cut short leaves
    no half version that looks committed)."""
    for start in range(0, len(paths), 1000):
        by_bucket: dict[str, list[dict]] = {}
        for path in paths[start : start + 1000]:
            bucket, key = objects.split(path)
            by_bucket.setdefault(bucket, []).append({"Key": key})
        for bucket, keys in by_bucket.items():
            objects.client().delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
