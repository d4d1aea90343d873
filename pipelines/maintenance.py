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
    is_local,
    publish,
    seal,
    state_dir_of,
)
from transforms.write.parquet import new_run_id
from transforms.write.tables import TableSettings, resolve
from transforms.write.tables import publish as publish_tables


def change_version(
    output: str, what: str, change: Callable[[Version], object], tables: Optional[TableSettings] = None
) -> tuple[Version, object]:
    """Run ``change`` on a new version of ``output``'s committed dataset and commit it; ``what`` names the
    change in the manifest (its value: what ``change`` returned) and in errors. A dataset published as
    Delta or Iceberg tables gets the new version as one commit per table (``tables``: e.g. the catalog
    URI, when the recorded one lacks its password)."""
    if not is_local(output):
        raise DatasetError(f"{what} works on local datasets only for now")
    with exclusive(output):
        current = check_pointer(output)
        if current is None:
            raise DatasetError(f"{output} holds no committed dataset")
        started = dt.datetime.now(dt.UTC)
        version = begin(output, new_run_id(), append=True, state_dir=state_dir_of(output, current))
        try:
            done = change(version)
            seal(
                version,
                {
                    "run_id": version.run_id,
                    "previous_version": version.previous,
                    what: done,
                    "started_at": started.isoformat(),
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(),
                },
            )
            publish_tables(resolve(output, tables), version.root, version.run_id, data_change=False)  # rows unchanged
            publish(version)
        except BaseException:
            abandon(version)
            raise
    return version, done
