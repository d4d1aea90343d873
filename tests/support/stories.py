"""A dataset of four append runs, as the writer lays it out, whose later runs each add a copy of an
earlier run's article (what across-runs dedupe writes: a duplicate pointing at the earlier cluster, the
earlier article's row and its ``duplicate_count`` untouched), and every story's copies, first date and
first outlet worked out in Python from its tables: what the report and the README's queries must say.

The stories: A, copied in its own run and again three runs later by an outlet that ran it earlier than
A's own date; B, whose first copy names no outlet and whose only other copy ran three years later; C,
no copy dated; D and E, one copy each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.dataset as ds

from transforms.schema import Article, Duplicate
from transforms.write.parquet import TABLES, table_batches, table_folder, write_parquet

UNKNOWN = "(unknown)"


def _at(day: str):
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def _article(story: str, source, published, duplicate_count: int = 0) -> Article:
    at = published and _at(published)
    return Article(story, f"{story}.txt", None, source, f"Story {story}", (), at, "en", "text", "text",
                   cluster_id=story, duplicate_count=duplicate_count)  # fmt: skip


def _copy(name: str, story: str, source, published) -> Duplicate:
    return Duplicate(name, f"{name}.txt", None, source, story, story, 0.9, published_at=published and _at(published))


RUNS = {
    "run1": [
        _article("A", "Early Times", "2021-06-23T10:00", duplicate_count=1),
        _copy("a1", "A", "Wire", "2021-06-24T08:00"),
        _article("B", None, "2021-08-16T09:00"),
        _article("C", "Gazette", None),
        _article("D", "Daily", "2021-08-17T12:00"),
    ],
    "run2": [_copy("b2", "B", "Later Herald", "2024-11-08T07:00"), _article("E", "Daily", "2024-11-08T09:00")],
    "run3": [_copy("c3", "C", "Daily", None)],
    "run4": [_copy("a4", "A", "Earliest Post", "2021-06-20T06:00")],
}


def write_runs(output: Path) -> Path:
    """The four runs' files under ``output``; returns it."""
    for run_id, records in RUNS.items():
        files: dict = {}
        for record in records:
            for table, partition, rows in table_batches(record):
                files.setdefault((table, partition), []).extend(rows)
        for (table, partition), rows in files.items():
            write_parquet(f"{table_folder(str(output), table, partition)}/part-{run_id}-00000.parquet", rows, TABLES[table])
    return output


def stories(output: Path) -> dict[str, dict]:
    """cluster id -> copies, first_published (the earliest dated copy's time, None when no copy is dated),
    first_outlet (that copy's source, ``UNKNOWN`` when it has none; None when no copy is dated), outlets
    (sorted, ``UNKNOWN`` for a copy without one), from the tables' rows."""
    copies: dict[str, list[dict]] = {}
    for table in ("articles", "duplicates"):
        for row in ds.dataset(output / table, partitioning="hive").to_table().to_pylist():
            copies.setdefault(row["cluster_id"], []).append(row)
    found = {}
    for cluster, rows in copies.items():
        dated = sorted((r["published_at"], r["source"] or UNKNOWN) for r in rows if r["published_at"])
        found[cluster] = {
            "copies": len(rows),
            "first_published": dated[0][0] if dated else None,
            "first_outlet": dated[0][1] if dated else None,
            "outlets": sorted({r["source"] or UNKNOWN for r in rows}),
        }
    return found
