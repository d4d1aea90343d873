"""``python -m pipelines.compact OUTPUT [--target-size 128MB]``: merge each partition's small files into
files of about the target size, the tables' and the dedupe index's, committed as a new version of the
dataset (rows unchanged)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from transforms.dedupe.index import STATE_TABLES as DEDUPE_INDEX_TABLES
from transforms.write.commit import DatasetError, abandon, begin, check_pointer, commit, exclusive, is_local, state_dir_of
from transforms.write.compact import compact_version
from transforms.write.parquet import new_run_id

_UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30}


def size(value: str) -> int:
    """Bytes from ``134217728``, ``128MB`` or ``1GB``."""
    text = value.strip().upper()
    unit = next((u for u in _UNITS if text.endswith(u)), None)
    try:
        number = float(text[: -len(unit)]) * _UNITS[unit] if unit else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (use e.g. 128MB)") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"not a positive size: {value!r}")
    return int(number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.compact", description=__doc__)
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    parser.add_argument("--target-size", type=size, default=128 * 2**20, help="bytes per file (default 128MB)")
    args = parser.parse_args(argv)
    try:
        if not is_local(args.output):
            raise DatasetError("compaction works on local datasets only for now")
        with exclusive(args.output):
            current = check_pointer(args.output)
            if current is None:
                raise DatasetError(f"{args.output} holds no committed dataset")
            started = dt.datetime.now(dt.UTC)
            version = begin(args.output, new_run_id(), append=True, state_dir=state_dir_of(args.output, current))
            try:
                counts = compact_version(version, args.target_size, DEDUPE_INDEX_TABLES)
                manifest = {
                    "run_id": version.run_id,
                    "previous_version": version.previous,
                    "compaction": counts,
                    "started_at": started.isoformat(),
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(),
                }
                commit(version, manifest)
            except BaseException:
                abandon(version)
                raise
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk midway: the version is abandoned, the dataset as it was
        print(f"error: compaction of {args.output} failed, nothing committed: {e}", file=sys.stderr)
        return 1
    for table, (before, after) in sorted(counts.items()):
        print(f"{table:<24}{before:>7} files -> {after}")
    print(f"Compaction {version.run_id} committed in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
