"""What publishing a run costs in each table format, as earlier runs pile up.

    python -m bench.table_formats_bench [--runs 10 100 1000] [--rows 2000]

For each count R: a version whose ``articles`` hold R earlier hourly runs (three day partitions each, one
small file per partition: 3R files), published run by run as the pipeline does (one commit per run); then
the cost of the next run's commit, measured alone: seconds, and the version files listed and log entries the
sync compares. Separately, one run of ``--rows`` articles added as its existing files (``publish``) against
delta-rs rewriting the same rows (``write_deltalake``). Only ``articles``: each table is its own log.
Results: docs/dataset.md (Table formats).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from transforms.schema import Article
from transforms.write.parquet import TABLES, table_batches, table_folder, write_parquet
from transforms.write.tables import DELTA, ICEBERG, TableSettings, delta, iceberg, resolve, version_files

MODULES = {DELTA: delta, ICEBERG: iceberg}


def articles(run: int, count: int) -> list[Article]:
    return [
        Article(
            f"r{run}-{n}",
            f"in/{run}/{n}.txt",
            None,
            "Bench",
            f"Title {n}",
            (),
            dt.datetime(2024, 1, 1 + (run + n % 3) % 28, 9, tzinfo=dt.UTC),
            "en",
            "word " * 300,
            "text",
        )
        for n in range(count)
    ]


def write_run(root: Path, run: int, count: int) -> None:
    grouped: dict[str | None, list[dict]] = {}
    for record in articles(run, count):
        for table, partition, rows in table_batches(record):
            if table == "articles":
                grouped.setdefault(partition, []).extend(rows)
    for partition, rows in grouped.items():
        write_parquet(f"{table_folder(str(root), 'articles', partition)}/part-{run:06d}-00000.parquet", rows, TABLES["articles"])


def publish_articles(fmt: str, where, root: Path, run_id: str) -> None:
    MODULES[fmt].publish(where, {"articles": version_files(str(root))["articles"]}, run_id)


def grow(fmt: str, runs: int, folder: Path) -> dict:
    where = resolve(str(folder / "out"), TableSettings(table_format=fmt))
    root = folder / "version"
    for run in range(runs):
        write_run(root, run, 3)
        publish_articles(fmt, where, root, f"run{run}")
    write_run(root, runs, 3)
    started = time.perf_counter()
    publish_articles(fmt, where, root, "next")
    seconds = time.perf_counter() - started
    return {"format": fmt, "earlier runs": runs, "files": 3 * (runs + 1), "next run's commit s": round(seconds, 3)}


def add_or_rewrite(rows: int, folder: Path) -> dict:
    root = folder / "version"
    write_run(root, 0, rows)
    where = resolve(str(folder / "out"), TableSettings(table_format=DELTA))
    started = time.perf_counter()
    publish_articles(DELTA, where, root, "run0")
    added = time.perf_counter() - started
    table = DeltaTable(delta.table_uri(where.output, "articles")).to_pyarrow_table()
    started = time.perf_counter()
    write_deltalake(str(folder / "rewritten"), pa.table(table), mode="append")
    rewritten = time.perf_counter() - started
    return {"rows": rows, "add existing files s": round(added, 3), "write_deltalake rewrite s": round(rewritten, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.table_formats_bench", description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--formats", nargs="+", default=[DELTA, ICEBERG])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(add_or_rewrite(args.rows, Path(tmp) / "add"), flush=True)
        for fmt in args.formats:
            for runs in args.runs:
                started = time.perf_counter()
                result = grow(fmt, runs, Path(tmp) / f"{fmt}-{runs}")
                print({**result, "building s": round(time.perf_counter() - started, 1)}, flush=True)


if __name__ == "__main__":
    main()
