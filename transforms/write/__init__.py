"""Write: the output tables as Hive-partitioned Parquet. ``parquet`` (layout and one file), ``batch``
(a batch run's tables) and ``stream`` (a stream's files, per bundle and window)."""

from transforms.write.batch import WriteDataset, WriteParquetTable
from transforms.write.parquet import TABLES, clear_output, count_written_rows, new_run_id, write_empty_table, write_parquet
from transforms.write.stream import WriteWindowedDataset

__all__ = [
    "TABLES",
    "WriteDataset",
    "WriteParquetTable",
    "WriteWindowedDataset",
    "clear_output",
    "count_written_rows",
    "new_run_id",
    "write_empty_table",
    "write_parquet",
]
