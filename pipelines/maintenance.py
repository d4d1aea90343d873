"""A maintenance command's change to a committed dataset (compaction, reindexing): made in a new version
under the lock, committed whole with a manifest that says what was done, or abandoned on any failure, so
the dataset is either as it was or as changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Optional

from transforms.write.commit import (
    DatasetError,
    Version,
    abandon,
    begin,
    check_pointer,
    exclusive,
    state_dir_of,
)
from transforms.write.parquet import new_run_id
from transforms.write.tables import TableSettings, commit, resolve


def object_store_options(parser, rest: list[str]):
    """Beam's storage options (``--s3_endpoint_url=...``, ``--s3_region_name=...``) among a maintenance
    command's arguments, as pipeline options; anything else is refused by ``parser``."""
    from apache_beam.options.pipeline_options import PipelineOptions

    unknown = [a for a in rest if not a.startswith(("--s3_", "--aws_", "--gcs_", "--azure_", "--hdfs_"))]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return PipelineOptions(rest)


def change_version(
    output: str, what: str, change: Callable[[Version], object], tables: Optional[TableSettings] = None
) -> tuple[Version, object]:
    """Run ``change`` on a new version of ``output``'s committed dataset and commit it; ``what`` names the
    change in the manifest (its value: what ``change`` returned) and in errors. A dataset published as
    Delta or Iceberg tables gets the new version as one commit per table (``tables``: e.g. the catalog
    URI, when the recorded one lacks its password)."""
    with exclusive(output):
        current = check_pointer(output)
        if current is None:
            raise DatasetError(f"{output} holds no committed dataset")
        started = dt.datetime.now(dt.UTC)
        version = begin(output, new_run_id(), append=True, state_dir=state_dir_of(output, current))
        try:
            done = change(version)
            manifest = {
                "run_id": version.run_id,
                "previous_version": version.previous,
                what: done,
                "started_at": started.isoformat(),
                "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            commit(version, manifest, resolve(output, tables), data_change=False)  # rows unchanged
        except BaseException:
            abandon(version)
            raise
    return version, done
