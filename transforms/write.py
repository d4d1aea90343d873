"""Write: the output tables as Parquet, ``articles`` and ``entities`` Hive-partitioned by
``published_date``; ``duplicates``, ``errors`` and ``feeds`` (when feeds were read) flat.

    OUTPUT/articles/published_date=2021-08-16/part-<run>-00000.parquet
    OUTPUT/articles/published_date=__HIVE_DEFAULT_PARTITION__/...   (undated: read back as null)
    OUTPUT/entities/published_date=.../...
    OUTPUT/duplicates/part-<run>-00000.parquet
    OUTPUT/errors/part-<run>-00000.parquet

Rows are grouped by (partition, shard) and each group is written as one whole pyarrow table (far faster
than Beam's row-at-a-time ``WriteToParquet``, which also cannot write per destination). A file is
written under a temporary name and renamed into place once complete, into folders created first
(``fileio.WriteToFiles`` does not create them and silently leaves its files in ``.temp``). Names carry
the run id and shard, so a retried bundle rewrites the same file and runs never collide. A table with no
rows still gets one empty file, so every reader finds its schema.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import posixpath
import uuid
from typing import Iterable, Optional

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils.windowed_value import WindowedValue

from transforms.schema import (
    ARTICLES_SCHEMA,
    DUPLICATES_SCHEMA,
    ENTITIES_SCHEMA,
    ERRORS_SCHEMA,
    FEEDS_SCHEMA,
    HIVE_NULL_PARTITION,
    Article,
    Duplicate,
    ErrorRecord,
    FeedStatus,
    article_row,
    entity_rows,
    shard_of,
)
from transforms.feeds import entry_keys, record_ingested_keys
from transforms.stage import GroupByKeyPacked

PARTITION_COLUMN = "published_date"
PARTITIONED_TABLES = ("articles", "entities")
TABLES = {
    "articles": ARTICLES_SCHEMA,
    "entities": ENTITIES_SCHEMA,
    "duplicates": DUPLICATES_SCHEMA,
    "errors": ERRORS_SCHEMA,
    "feeds": FEEDS_SCHEMA,
}


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def table_folder(output: str, table: str, partition: Optional[str]) -> str:
    folder = FileSystems.join(output, table)
    return folder if partition is None else FileSystems.join(folder, f"{PARTITION_COLUMN}={partition}")


def write_parquet(path: str, rows: list[dict], schema: pa.Schema) -> None:
    """Write one complete file: to a temporary name first, then renamed, so no reader sees half a file."""
    folder = posixpath.dirname(path)
    if not FileSystems.exists(folder):
        try:
            FileSystems.mkdirs(folder)
        except OSError:  # made meanwhile by another worker
            pass
    temporary = FileSystems.join(folder, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    table = pa.Table.from_pylist(rows, schema=schema)
    with FileSystems.create(temporary) as sink:
        pq.write_table(table, sink, compression="zstd")
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])


def clear_output(output: str) -> None:
    """Remove earlier runs' tables, and the feed state kept beside them (what it remembers was in those
    tables), so that the output holds exactly this run's result."""
    names = [*TABLES, "_state"]
    existing = [FileSystems.join(output, t) for t in names if FileSystems.exists(FileSystems.join(output, t))]
    if existing:
        FileSystems.delete(existing)


def count_written_rows(output: str, run_id: str) -> dict[str, int]:
    """Rows this run wrote per table, read back from the Parquet footers, in the counters' names."""
    totals = {}
    for table in TABLES:
        patterns = [FileSystems.join(output, table, *sub, f"part-{run_id}-*.parquet") for sub in ((), ("*",))]
        paths = {m.path for result in FileSystems.match(patterns) for m in result.metadata_list}
        rows = 0
        for path in paths:
            with FileSystems.open(path) as handle:
                rows += pq.ParquetFile(handle).metadata.num_rows
        totals[f"{table}_rows"] = rows
    totals["documents_read"] = sum(totals[f"{t}_rows"] for t in ("articles", "duplicates", "errors"))
    return totals


class _WritePartFile(beam.DoFn):
    def __init__(self, output: str, table: str, run_id: str):
        self.output, self.table, self.run_id = output, table, run_id
        self.rows_written = beam.metrics.Metrics.counter("pipeline", f"{table}_rows")

    def process(self, group) -> Iterable[str]:
        (partition, shard), row_lists = group
        rows = [row for rows in row_lists for row in rows]
        rows.sort(key=lambda r: tuple(str(v) for v in r.values()))  # the same file on every runner
        path = FileSystems.join(table_folder(self.output, self.table, partition), f"part-{self.run_id}-{shard:05d}.parquet")
        write_parquet(path, rows, TABLES[self.table])
        self.rows_written.inc(len(rows))
        yield path


class WriteParquetTable(beam.PTransform):
    """(partition or None, list of row dicts) pairs -> Parquet files of one table; outputs the file paths.
    A record's rows travel as one list (an article's entity rows: one shuffled value, not ~30)."""

    def __init__(self, output: str, table: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.table, self.run_id, self.shards = output, table, run_id, shards

    def expand(self, rows):
        shards, output, table, run_id = self.shards, self.output, self.table, self.run_id
        partitioned = table in PARTITIONED_TABLES
        files = (
            rows
            | "ShardKey" >> beam.Map(lambda kv: ((kv[0], shard_of(repr(kv[1]), shards) if shards > 1 else 0), kv[1]))
            | "GroupFiles" >> GroupByKeyPacked()
            | "WriteFiles" >> beam.ParDo(_WritePartFile(output, table, run_id))
        )
        # A count that is 0 for an empty table without CombineGlobally's default, which needs a side input
        # (not honoured by every runner): one seeded zero, summed under one key.
        zero = rows.pipeline | "Zero" >> beam.Create([(table, 0)])
        empty = (
            (rows | "RowCounts" >> beam.Map(lambda kv: (table, len(kv[1]))), zero)
            | "CountInputs" >> beam.Flatten()
            | "CountRows" >> beam.CombinePerKey(sum)
            | "EmptyTable" >> beam.FlatMap(lambda kv: _write_if_empty(kv[1], output, table, run_id, partitioned))
        )
        # Every write flows into the output: a runner may run only what leads to the pipeline's end.
        return (files, empty) | "AllFiles" >> beam.Flatten()


def _write_if_empty(count: int, output: str, table: str, run_id: str, partitioned: bool) -> Iterable[str]:
    if count == 0:
        yield write_empty_table(output, table, run_id)


def write_empty_table(output: str, table: str, run_id: str) -> str:
    """One file with the table's schema and no row, so readers find the schema before any row exists."""
    partition = HIVE_NULL_PARTITION if table in PARTITIONED_TABLES else None
    path = FileSystems.join(table_folder(output, table, partition), f"part-{run_id}-empty.parquet")
    write_parquet(path, [], TABLES[table])
    return path


def _article_rows(article: Article) -> tuple[str, list[dict]]:
    return article.published_date, [article_row(article)]


def _flat_rows(record) -> tuple[None, list[dict]]:
    return None, [dataclasses.asdict(record)]


def _entity_rows(article: Article) -> list[tuple[str, list[dict]]]:
    rows = entity_rows(article)
    return [(article.published_date, rows)] if rows else []


class WriteDataset(beam.PTransform):
    """Articles, duplicates and errors (and feed status rows, when feeds were read) -> the tables under ``output``."""

    def __init__(self, output: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.run_id, self.shards = output, run_id, shards

    def expand(self, outputs):
        articles, duplicates, errors = outputs["articles"], outputs["duplicates"], outputs["errors"]

        def table(name: str) -> WriteParquetTable:
            return WriteParquetTable(self.output, name, self.run_id, self.shards)

        files = [
            articles | "ArticleRows" >> beam.Map(_article_rows) | "Articles" >> table("articles"),
            articles | "EntityRows" >> beam.FlatMap(_entity_rows) | "Entities" >> table("entities"),
            duplicates | "DuplicateRows" >> beam.Map(_flat_rows) | "Duplicates" >> table("duplicates"),
            errors | "ErrorRows" >> beam.Map(_flat_rows) | "Errors" >> table("errors"),
        ]
        if "feeds" in outputs:
            files.append(outputs["feeds"] | "FeedRows" >> beam.Map(_flat_rows) | "Feeds" >> table("feeds"))
        return files | "AllFiles" >> beam.Flatten()


# ------------------------------------------------------------------------------------ streaming


def table_rows(record) -> list[tuple[str, Optional[str], dict]]:
    """(table, partition, row) for any record the pipeline ends with."""
    if isinstance(record, Article):
        batches = [("articles", _article_rows(record))] + [("entities", rows) for rows in _entity_rows(record)]
    else:
        batches = [({Duplicate: "duplicates", ErrorRecord: "errors", FeedStatus: "feeds"}[type(record)], _flat_rows(record))]
    return [(table, partition, row) for table, (partition, rows) in batches for row in rows]


def window_file_name(run_id: str, window) -> str:
    """``part-<run>-20261123T141500Z-<unique>.parquet``: the window's start, no space, colon or bracket."""
    start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")
    return f"part-{run_id}-{start}-{uuid.uuid4().hex[:8]}.parquet"


class _WriteBundleFiles(beam.DoFn):
    """Each bundle's rows -> one file per (table, window, partition); then the bundle's entry keys are
    recorded as ingested and a line per window is logged."""

    def __init__(self, output: str, run_id: str, state_dir: Optional[str]):
        self.output, self.run_id, self.state_dir = output, run_id, state_dir
        self.rows_written = {table: beam.metrics.Metrics.counter("pipeline", f"{table}_rows") for table in TABLES}

    def start_bundle(self):
        self.rows: dict[tuple, list[dict]] = collections.defaultdict(list)
        self.ingested: set[str] = set()

    def process(self, record, window=beam.DoFn.WindowParam) -> None:
        for table, partition, row in table_rows(record):
            self.rows[(table, window, partition)].append(row)
        if isinstance(record, (Article, Duplicate)):
            self.ingested |= entry_keys(record.entry_id, record.url)

    def finish_bundle(self) -> Iterable[WindowedValue]:
        written = []
        for (table, window, partition), rows in sorted(self.rows.items(), key=lambda item: (item[0][0], item[0][1].start, str(item[0][2]))):
            path = FileSystems.join(table_folder(self.output, table, partition), window_file_name(self.run_id, window))
            write_parquet(path, rows, TABLES[table])
            self.rows_written[table].inc(len(rows))
            written.append(WindowedValue(path, window.max_timestamp(), [window]))
        if self.state_dir:
            record_ingested_keys(self.state_dir, self.ingested)
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
        parts.append(f"{len(feeds)} feed polls: {sum(f['entries'] for f in feeds)} entries, {sum(f['new_entries'] for f in feeds)} new")
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
