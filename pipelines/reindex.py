"""``python -m pipelines.reindex OUTPUT [--lsh_bands 24 --lsh_rows 5 --shingle_size 3]``: rebuild the dedupe
index (``_state/dedupe``) from the committed dataset's articles and duplicates, committed as a new version
(rows of the tables unchanged). A run refuses a dataset whose index knows fewer documents than it holds
(``dedupe.index.check_complete``); this is the repair it names."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys

from pipelines.maintenance import change_version
from pipelines.stats import RUNS
from transforms.dedupe import DedupeSettings, index_folder
from transforms.dedupe.index import rebuild
from transforms.write.commit import DatasetError
from transforms.write.tables import TableFormatError, TableSettings, catalog_uri


def run_started(output: str, default: dt.datetime):
    """path of a table file -> when the run that wrote it started (``OUTPUT/_runs/<run>.json``), else
    ``default``: the event time an undated article had in the index."""
    cache: dict[str, dt.datetime] = {}

    def started(path: str) -> dt.datetime:
        run_id = os.path.basename(path).removeprefix("part-").split("-", 1)[0]
        if run_id not in cache:
            try:
                with open(os.path.join(output, RUNS, f"{run_id}.json"), encoding="utf-8") as handle:
                    cache[run_id] = dt.datetime.fromisoformat(json.load(handle)["started_at"])
            except (OSError, ValueError, KeyError, TypeError):
                cache[run_id] = default
        return cache[run_id]

    return started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.reindex", description=__doc__)
    parser.add_argument("output", help="the dataset folder (a run's --output)")
    defaults = DedupeSettings()
    parser.add_argument("--lsh_bands", type=int, default=defaults.bands, help=f"as the runs use (default {defaults.bands})")
    parser.add_argument("--lsh_rows", type=int, default=defaults.rows, help=f"as the runs use (default {defaults.rows})")
    parser.add_argument("--shingle_size", type=int, default=defaults.shingle_size, help="as the runs use")
    parser.add_argument(
        "--iceberg-catalog", type=catalog_uri, help="Iceberg: the catalog URI, when the dataset's needs a password"
    )
    args = parser.parse_args(argv)
    settings = dataclasses.replace(defaults, bands=args.lsh_bands, rows=args.lsh_rows, shingle_size=args.shingle_size)
    started = dt.datetime.now(dt.UTC)

    def reindex(version) -> dict:
        folder = index_folder(version.state)
        shutil.rmtree(folder, ignore_errors=True)  # this version's links only: the committed files stay
        indexed = rebuild(version.root, folder, version.run_id, settings, run_started(args.output, started))
        return {"documents": indexed, "bands": settings.bands, "rows": settings.rows}

    try:
        version, done = change_version(args.output, "reindex", reindex, TableSettings(iceberg_catalog=args.iceberg_catalog))
    except (DatasetError, TableFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"Dedupe index of {done['documents']} articles and duplicates rebuilt; version {version.run_id} committed in "
        f"{args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
