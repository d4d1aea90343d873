"""Batch writing: rows grouped by (partition, shard), each group written as one whole pyarrow table (far
faster than Beam's row-at-a-time ``WriteToParquet``, which also cannot write per destination). The file of
a group is named by run and shard, so a retried bundle rewrites the same file. A table with no row gets
its schema file when the run is sealed (``commit.seal``), not here."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.schema import WRITE, shard_of
from transforms.stage import counter
from transforms.write.parquet import TABLES, sorted_table, table_batches, table_folder, write_table


class _WritePartFile(beam.DoFn):
    def __init__(self, output: str, run_id: str):
        self.output, self.run_id = output, run_id
        self.rows_written = {table: counter(WRITE, table) for table in TABLES}

    def process(self, group) -> Iterable[str]:
        (table, partition, shard), row_lists = group
        data = sorted_table(row_lists, TABLES[table])
        path = FileSystems.join(table_folder(self.output, table, partition), f"part-{self.run_id}-{shard:05d}.parquet")
        write_table(path, data)
        self.rows_written[table].inc(data.num_rows)
        yield path


class WriteParquetTables(beam.PTransform):
    """(table, partition or None, list of row dicts) batches -> one Parquet file per (table, partition,
    shard); outputs the file paths. A record's rows travel as one list (an article's entity rows: one
    shuffled value, not ~30)."""

    def __init__(self, output: str, run_id: str, shards: int = 1):
        super().__init__()
        self.output, self.run_id, self.shards = output, run_id, shards

    def expand(self, batches):
        shards, output, run_id = self.shards, self.output, self.run_id
        return (
            batches
            | "ShardKey" >> beam.Map(lambda b: ((b[0], b[1], shard_of(repr(b[2]), shards) if shards > 1 else 0), b[2]))
            | "GroupFiles" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(_WritePartFile(output, run_id))
        )


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
