"""Batch writing: rows grouped by (partition, shard), each group written as one whole pyarrow table (far
faster than Beam's row-at-a-time ``WriteToParquet``, which also cannot write per destination). Rows reach
their group as spill files (``spill``), so the runner's grouping holds paths, not rows. The file of a group
is named by run and shard, so a retried bundle rewrites the same file. A table with no row gets its schema
file when the run is sealed (``commit.seal``), not here."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from transforms.files import remove_folder
from transforms.schema import WRITE, shard_of
from transforms.stage import counter
from transforms.write.parquet import TABLES, table_batches, table_folder, write_table
from transforms.write.spill import SPILL, SpillBuffer, read_spills


class _SpillRows(beam.DoFn):
    """(table, partition, rows) -> ((table, partition, shard), spill file path), a buffer per bundle."""

    def __init__(self, folder: str, shards: int):
        self.folder, self.shards = folder, shards

    def start_bundle(self):
        self.buffer = SpillBuffer(self.folder, lambda key, rows: pa.RecordBatch.from_pylist(rows, schema=TABLES[key[0]]))

    def process(self, batch):
        table, partition, rows = batch
        shard = shard_of(repr(rows), self.shards) if self.shards > 1 else 0
        yield from self.buffer.add((table, partition, shard), rows)

    def finish_bundle(self):
        for spilled in self.buffer.spill():
            yield GlobalWindows.windowed_value(spilled)


class _WritePartFile(beam.DoFn):
    def __init__(self, output: str, run_id: str):
        self.output, self.run_id = output, run_id
        self.rows_written = {table: counter(WRITE, table) for table in TABLES}

    def process(self, group) -> Iterable[str]:
        (table, partition, shard), spills = group
        data = read_spills(spills, TABLES[table])
        path = FileSystems.join(table_folder(self.output, table, partition), f"part-{self.run_id}-{shard:05d}.parquet")
        write_table(path, data)
        self.rows_written[table].inc(data.num_rows)
        yield path


class WriteParquetTables(beam.PTransform):
    """(table, partition or None, list of row dicts) batches -> one Parquet file per (table, partition,
    shard); outputs the file paths. A record's rows travel as one list (an article's entity rows: one
    value, not ~30)."""

    def __init__(self, output: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.run_id, self.shards = output, run_id, shards

    def expand(self, batches):
        spills = FileSystems.join(self.output, SPILL)
        written = (
            batches
            | "Spill" >> beam.ParDo(_SpillRows(spills, self.shards))
            | "GroupFiles" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(_WritePartFile(self.output, self.run_id))
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
