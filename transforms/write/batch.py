"""Batch writing: rows grouped by (table, partition, shard) and written as whole pyarrow tables (far faster
than Beam's row-at-a-time ``WriteToParquet``, which also cannot write per destination). Rows reach their
group as spill files (``spill``), so the runner's grouping holds paths, not rows. A partition larger
than a file's bound is written as more files, a record's rows going to one of them by a hash, so a
worker holds one bounded file at a time however large the run. Files are named by run and number, so a
retried bundle rewrites the same file. A table with no row gets its schema file when the run is sealed
(``commit.seal``), not here."""

from __future__ import annotations

import math
from collections.abc import Iterable

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from transforms.files import remove_folder
from transforms.schema import WRITE, shard_of
from transforms.stage import counter
from transforms.write.parquet import TABLES, table_batches, table_folder, write_in_order
from transforms.write.spill import SPILL, Spill, SpillBuffer, spilled_rows

# Rows of a table a run writes to one file, about: ~16 MiB of Arrow data at typical sizes (an article
# row ~6 KB with its text, an entity row ~100 B), which a worker holds while it writes the file, a row
# group (an eighth of that) at a time (docs/scale.md, twelfth round). A shard of a partition is split
# into at most BUCKETS files: past BUCKETS times the bound (40,000 articles a month in one run) its
# files grow beyond it.
ROWS_PER_FILE = {"articles": 2_500, "entities": 160_000, "duplicates": 100_000, "errors": 2_500, "feeds": 100_000}
GROUPS_PER_FILE = 8
BUCKETS = 16


def file_count(table: str, rows: int) -> int:
    """How many files a run writes for ``rows`` rows of one shard of a partition of ``table``."""
    return min(BUCKETS, max(1, math.ceil(rows / ROWS_PER_FILE[table])))


class _SpillRows(beam.DoFn):
    """(table, partition, rows) -> ((table, partition, shard), (bucket, spill)), a buffer per bundle. A
    record's rows take one shard (of ``shards``) and one bucket (of ``BUCKETS``) by a hash of their first
    row: the same in every runner and every retry."""

    def __init__(self, folder: str, shards: int):
        self.folder, self.shards = folder, shards

    def start_bundle(self):
        self.buffer = SpillBuffer(self.folder, lambda key, rows: pa.RecordBatch.from_pylist(rows, schema=TABLES[key[0]]))

    def process(self, batch):
        table, partition, rows = batch
        shard, bucket = divmod(shard_of(repr(rows[0]), self.shards * BUCKETS), BUCKETS)
        yield from self._by_shard(self.buffer.add((table, partition, shard, bucket), rows))

    def finish_bundle(self):
        for spilled in self._by_shard(self.buffer.spill()):
            yield GlobalWindows.windowed_value(spilled)

    @staticmethod
    def _by_shard(spilled: list[tuple[tuple, Spill]]) -> list[tuple[tuple[str, str, int], tuple[int, Spill]]]:
        return [((table, partition, shard), (bucket, spill)) for (table, partition, shard, bucket), spill in spilled]


class _WriteShardFiles(beam.DoFn):
    """((table, partition, shard), (bucket, spill) pairs) -> the paths of the shard's files: ``file_count``
    of them, bucket b's rows in the shard's file b mod count, each file's rows read back and written in turn."""

    def __init__(self, output: str, run_id: str, shards: int):
        self.output, self.run_id, self.shards = output, run_id, shards
        self.rows_written = {table: counter(WRITE, table) for table in TABLES}

    def process(self, group) -> Iterable[str]:
        (table, partition, shard), spilled = group
        spilled = list(spilled)
        files = file_count(table, sum(spill.rows for _, spill in spilled))
        folder = table_folder(self.output, table, partition)
        for file in range(files):
            data, order = spilled_rows([spill for bucket, spill in spilled if bucket % files == file], TABLES[table])
            if data.num_rows:
                path = FileSystems.join(folder, f"part-{self.run_id}-{file * self.shards + shard:05d}.parquet")
                write_in_order(path, data, order, max(1, ROWS_PER_FILE[table] // GROUPS_PER_FILE))
                self.rows_written[table].inc(data.num_rows)
                yield path


class WriteParquetTables(beam.PTransform):
    """(table, partition or None, list of row dicts) batches -> the Parquet files of each (table,
    partition): ``shards`` of them (written by as many workers), each split further past ``ROWS_PER_FILE``
    rows; outputs the file paths. A record's rows travel as one list (an article's entity rows: one value,
    not ~30)."""

    def __init__(self, output: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.run_id, self.shards = output, run_id, shards

    def expand(self, batches):
        spills = FileSystems.join(self.output, SPILL)
        written = (
            batches
            | "Spill" >> beam.ParDo(_SpillRows(spills, self.shards))
            | "GroupShards" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(_WriteShardFiles(self.output, self.run_id, self.shards))
        )
        _ = (  # no default: a write of no row spilled nothing, and a default is a side input (pipelines/adapter.py)
            written
            | "AllWritten" >> beam.combiners.Count.Globally().without_defaults()
            | "RemoveSpills" >> beam.Map(lambda _: remove_folder(spills))
        )
        return written


class WriteDataset(beam.PTransform):
    """Articles, duplicates and errors (and feed status rows, when feeds were read), a dict of PCollections
    -> the tables under ``output`` (``parquet.table_batches`` says which record goes to which table)."""

    def __init__(self, output: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.run_id, self.shards = output, run_id, shards

    def expand(self, outputs):
        return (
            tuple(outputs.values())
            | "Records" >> beam.Flatten()
            | "Rows" >> beam.FlatMap(table_batches)
            | "Files" >> WriteParquetTables(self.output, self.run_id, self.shards)
        )
