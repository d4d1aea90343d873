"""``python -m pipelines.repair OUTPUT [--version RUN_ID]``: point ``OUTPUT/_current`` at the newest
committed version again (the newest holding ``_SUCCESS``, by its manifest), when the pointer is missing,
dangling or not a link. Runs refuse such an output (exit 2) instead of removing versions; this is the fix
they name. Whatever stood in the pointer's place is moved aside, never deleted."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Optional

from transforms.write.commit import (
    CURRENT,
    SUCCESS,
    VERSIONS,
    DatasetError,
    Version,
    committed_versions,
    current_version,
    exclusive,
    is_local,
    publish,
)


def repair_pointer(output: str, run_id: Optional[str] = None) -> tuple[Optional[str], str, Optional[str]]:
    """Point a local dataset's ``_current`` at ``run_id``, or at the newest committed version: (what it
    pointed at, the version it points at now, where a real file or folder in its place was moved)."""
    local = output[len("file://") :] if output.startswith("file://") else output
    pointer = os.path.join(local, CURRENT)
    try:
        current = current_version(output)
    except DatasetError:
        current = None
    if current is not None and run_id in (None, current):
        return current, current, None
    if run_id is None:
        committed = committed_versions(output)
        if not committed:
            raise DatasetError(f"{output} holds no committed version (no {VERSIONS}/*/{SUCCESS}): nothing to point at")
        run_id = committed[-1]
    elif not os.path.isdir(os.path.join(local, VERSIONS, run_id)):
        raise DatasetError(f"{output} has no version {run_id} (see {os.path.join(local, VERSIONS)})")
    before, moved = (os.readlink(pointer) if os.path.islink(pointer) else None), None
    if os.path.lexists(pointer) and not os.path.islink(pointer):
        moved = f"{pointer}.broken-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
        os.replace(pointer, moved)
    publish(Version(output, run_id, None))
    return before, run_id, moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.repair", description=__doc__)
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    parser.add_argument("--version", help="the version to point at (default: the newest committed one)")
    args = parser.parse_args(argv)
    try:
        if not is_local(args.output):
            raise DatasetError("repair works on local datasets only for now: write the version's id to OUTPUT/_CURRENT")
        with exclusive(args.output):
            before, after, moved = repair_pointer(args.output, args.version)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if moved:
        print(f"moved what stood in the pointer's place to {moved}")
    if before == after:
        print(f"{args.output}: _current already points at {after}; nothing to repair")
        return 0
    print(f"{args.output}: _current -> {after}" + ("" if before is None else f" (was {before})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
