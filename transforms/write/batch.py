"""Batch writing: rows grouped by (partition, shard), each group written as one whole pyarrow table (far
faster than Beam's row-at-a-time ``WriteToParquet``, which also cannot write per destination). The file of
a group is named by run and shard, so a retried bundle rewrites the same file. A table with no row gets
its schema file when the run is sealed (``commit.seal``), not here."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.schema import WRITE, shard_of
from transforms.shuffle import GroupByKeyPacked
from transforms.stage import counter
from transforms.write.parquet import (
    TABLES,
    article_entity_rows,
    article_rows,
    flat_rows,
    table_folder,
    write_parquet,
)


class _WritePartFile(beam.DoFn):
    def __init__(self, output: str, table: str, run_id: str):
        self.output, self.table, self.run_id = output, table, run_id
        self.rows_written = counter(WRITE, table)

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
        return (
            rows
            | "ShardKey" >> beam.Map(lambda kv: ((kv[0], shard_of(repr(kv[1]), shards) if shards > 1 else 0), kv[1]))
            | "GroupFiles" >> GroupByKeyPacked()
            | "WriteFiles" >> beam.ParDo(_WritePartFile(output, table, run_id))
        )


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
            articles | "ArticleRows" >> beam.Map(article_rows) | "Articles" >> table("articles"),
            articles | "EntityRows" >> beam.FlatMap(article_entity_rows) | "Entities" >> table("entities"),
            duplicates | "DuplicateRows" >> beam.Map(flat_rows) | "Duplicates" >> table("duplicates"),
            errors | "ErrorRows" >> beam.Map(flat_rows) | "Errors" >> table("errors"),
        ]
        if "feeds" in outputs:
            files.append(outputs["feeds"] | "FeedRows" >> beam.Map(flat_rows) | "Feeds" >> table("feeds"))
        return files | "AllFiles" >> beam.Flatten()
