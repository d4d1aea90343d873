"""Stream writing: each bundle's rows -> one file per (table, window, partition), written as the bundle
completes, named by window, into the same tables and partitions as a batch run's; a bundle of entries is
committed with the keys it records (``bundles``)."""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Iterable
from typing import Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils.windowed_value import WindowedValue

from transforms.feeds.formats import entry_keys
from transforms.feeds.state import bundle_line, from_bundle_line, record_ingested_keys
from transforms.schema import WRITE, Article, Duplicate
from transforms.stage import counter
from transforms.write.bundles import bundle_name, mark_committed, publish_staged, staged_path
from transforms.write.parquet import TABLES, table_batches, table_folder, write_parquet


def table_rows(record) -> list[tuple[str, Optional[str], dict]]:
    """(table, partition, row) for any record the pipeline ends with."""
    return [(table, partition, row) for table, partition, rows in table_batches(record) for row in rows]


def window_file_name(run_id: str, window, unique: Optional[str] = None) -> str:
    """``part-<run>-20261123T141500Z-<unique>.parquet``: the window's start, no space, colon or bracket."""
    start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")
    return f"part-{run_id}-{start}-{unique or uuid.uuid4().hex[:8]}.parquet"


class _WriteBundleFiles(beam.DoFn):
    """Each bundle's rows -> one file per (table, window, partition), and a line per window logged. A
    bundle of entries (articles, duplicates) is committed with the keys it records (``bundles``): its
    files are staged, its keys written beside them, recorded as ingested, and then the files moved into
    their tables, so that a job killed at any point writes each entry once when restarted. Feed polls and
    errors record nothing and are written straight into their tables."""

    def __init__(self, output: str, run_id: str, state_dir: Optional[str]):
        self.output, self.run_id, self.state_dir = output, run_id, state_dir
        self.rows_written = {table: counter(WRITE, table) for table in TABLES}

    def start_bundle(self):
        self.rows: dict[tuple, list[dict]] = collections.defaultdict(list)
        self.ingested: set[str] = set()

    def process(self, record, window=beam.DoFn.WindowParam):
        for table, partition, row in table_rows(record):
            self.rows[(table, window, partition)].append(row)
        if isinstance(record, (Article, Duplicate)):
            self.ingested |= {bundle_line(record.feed_url, key) for key in entry_keys(record.entry_id, record.url)}

    def finish_bundle(self) -> Iterable[WindowedValue]:
        bundle = bundle_name(self.run_id, {t for t, _, _ in self.rows}, self.ingested) if self.ingested else None
        written = []
        for (table, window, partition), rows in sorted(
            self.rows.items(), key=lambda item: (item[0][0], item[0][1].start, str(item[0][2]))
        ):
            name = window_file_name(self.run_id, window, bundle and bundle[:12])
            path = FileSystems.join(table_folder(self.output, table, partition), name)
            write_parquet(staged_path(self.output, bundle, path) if bundle else path, rows, TABLES[table])
            written.append(WindowedValue(path, window.max_timestamp(), [window]))
        if bundle:
            mark_committed(self.output, bundle, self.ingested)
            if self.state_dir:
                record_ingested_keys(self.state_dir, map(from_bundle_line, self.ingested), bundle)
            publish_staged(self.output, bundle)
        for (table, _, _), rows in self.rows.items():
            self.rows_written[table].inc(len(rows))
        for window in dict.fromkeys(window for _, window, _ in self.rows):
            logging.getLogger("news.stream").info(window_summary(window, self.rows))
        return written


def window_summary(window, rows: dict[tuple, list[dict]]) -> str:
    start, end = (x.to_utc_datetime().strftime("%Y-%m-%d %H:%M:%S") for x in (window.start, window.end))
    counts: dict[str, int] = collections.Counter()
    for (table, row_window, _), table_rows_ in rows.items():
        if row_window == window:
            counts[table] += len(table_rows_)
    parts = [f"{counts[t]} {t}" for t in ("articles", "duplicates", "errors") if counts[t]]
    if counts["feeds"]:
        feeds = [row for (t, w, _), r in rows.items() if t == "feeds" and w == window for row in r]
        parts.append(
            f"{len(feeds)} feed polls: {sum(f['entries'] for f in feeds)} entries, {sum(f['new_entries'] for f in feeds)} new"
        )
    return f"window {start} - {end} UTC: wrote " + ", ".join(parts)


class WriteWindowedDataset(beam.PTransform):
    """A stream of articles, duplicates, errors and feed status rows, windowed -> Parquet files written as
    each bundle completes, named by window, into the same tables and partitions as a batch run's. Every
    file appears complete (temporary name, then rename), and no step waits for a window to close."""

    def __init__(self, output: str, run_id: str, state_dir: Optional[str] = None):
        super().__init__()
        self.output, self.run_id, self.state_dir = output, run_id, state_dir

    def expand(self, records):
        return records | "WriteBundles" >> beam.ParDo(_WriteBundleFiles(self.output, self.run_id, self.state_dir))
