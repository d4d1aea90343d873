"""``python -m pipelines.compact OUTPUT [--target-size 128MB] [--retain 168h] [--s3_endpoint_url=... and
Beam's other storage options]``: merge each partition's small
files into files of about the target size, the tables' and the dedupe index's, committed as a new version
of the dataset (rows unchanged). A dataset published as Delta or Iceberg tables takes the compaction as one
commit per table (files removed and added, no data change: Delta's OPTIMIZE), then the format's clean-up:
the files no version younger than ``--retain`` reads are deleted (Delta ``vacuum``; Iceberg: snapshots
expired, then their files), and those versions no longer time-travel. On S3, the versions neither among
the newest ``--keep-versions`` nor younger than ``--retain`` are retired: every object no kept version
lists is deleted (``transforms.write.retention``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from apache_beam.io.filesystems import FileSystems

from pipelines.maintenance import change_version, object_store_options
from pipelines.options import add_options
from transforms.dedupe.index import STATE_TABLES as DEDUPE_INDEX_TABLES
from transforms.settings import byte_size, duration, option
from transforms.write.commit import DatasetError, exclusive
from transforms.write.compact import compact_version
from transforms.write.retention import vacuum
from transforms.write.tables import TableFormatError, TableSettings, catalog_uri, maintain


@dataclasses.dataclass(frozen=True)
class CompactSettings:
    """``python -m pipelines.compact``'s options, each parsed and range-checked by its ``option``."""

    target_size: int = option(128 * 2**20, "bytes per file (default 128MiB)", parse=byte_size, minimum=1)
    retain: float = option(
        7 * 86400,
        "keep what versions younger than this read, for time travel: Delta/Iceberg files, and on S3 the "
        "dataset's versions (default 7d, Delta's own)",
        parse=duration,
    )
    keep_versions: int = option(
        2, "S3: keep at least this many newest versions readable (besides those younger than --retain; default 2)", minimum=1
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.compact", description=__doc__)
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    add_options(parser, CompactSettings)
    parser.add_argument(
        "--iceberg-catalog", type=catalog_uri, help="Iceberg: the catalog URI, when the dataset's needs a password"
    )
    args, rest = parser.parse_known_args(argv)
    FileSystems.set_options(object_store_options(parser, rest))
    try:
        version, counts = change_version(
            args.output,
            "compaction",
            lambda version: compact_version(version, args.target_size, DEDUPE_INDEX_TABLES),
            TableSettings(iceberg_catalog=args.iceberg_catalog),
        )
    except (DatasetError, TableFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk midway: the version is abandoned, the dataset as it was
        print(f"error: compaction of {args.output} failed, nothing committed: {e}", file=sys.stderr)
        return 1
    for table, (before, after) in sorted(counts.items()):
        print(f"{table:<24}{before:>7} files -> {after}")
    print(f"Compaction {version.run_id} committed in {args.output}")
    try:
        with exclusive(args.output):
            deleted = maintain(args.output, args.retain / 3600, args.iceberg_catalog)
            vacuumed = vacuum(args.output, args.keep_versions, args.retain)
    except (DatasetError, TableFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for table, count in sorted(deleted.items()):
        print(f"{table:<24}{count:>7} files no version within {args.retain / 3600:g}h reads, deleted")
    if vacuumed.kept:
        print(
            f"{len(vacuumed.kept)} versions kept; {len(vacuumed.removed) + len(vacuumed.retired)} older ones retired "
            f"({len(vacuumed.retired)} still hold files kept versions list): {vacuumed.deleted} objects deleted"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
