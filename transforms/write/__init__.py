"""Write: the output tables as Hive-partitioned Parquet. ``parquet`` (layout and one file), ``batch``
(a batch run's tables), ``stream`` (a stream's files, per bundle and window) and ``commit`` (how a run's
version of the dataset becomes the one readers see)."""

from transforms.write.batch import WriteDataset, WriteParquetTables
from transforms.write.parquet import TABLES, count_written_rows, new_run_id, run_files, write_empty_table, write_parquet
from transforms.write.stream import WriteWindowedDataset

__all__ = [
    "TABLES",
    "WriteDataset",
    "WriteParquetTables",
    "WriteWindowedDataset",
    "count_written_rows",
    "new_run_id",
    "run_files",
    "write_empty_table",
    "write_parquet",
]
