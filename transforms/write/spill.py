"""Rows on their way to a table file, held on disk, not in the runner: a batch write groups paths of spill
files, not rows.

Beam's local runner holds a grouping's whole output in its own process, coder-encoded, and hands it to
the next stage at once (docs/scale.md, "Memory at 10,000"): a write that grouped rows held every row of
the run there at the end of the run. Here each worker converts its rows to Arrow a batch at a time, writes
them to spill files (Arrow IPC, uncompressed: read back once, straight away) and hands on their paths;
one step per (table, partition, shard) reads its spills back and writes its files. Spills live under the run's version
(``SPILL``): a failed run's go with its version, a finished write removes them. The dedupe index's new
rows take the same way to its files, in their own folder (``dedupe.across_runs.AddToIndex``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems

from transforms.files import ensure_folder

SPILL = "_spill"  # the folder under a run's version that holds its write's spill files
ROWS_PER_BATCH = 512  # rows held as Python objects at a time (an article row with its entities: ~30 KB)
BYTES_PER_SPILL = 32 << 20  # Arrow bytes a worker holds before it writes them out


class Spill(NamedTuple):
    path: str
    rows: int  # so that where a spill's rows go can be decided without reading it (``batch.file_count``)


class SpillBuffer:
    """Rows added per key (the write's: (table, partition, shard, bucket)) -> spill files, one per key each time
    the buffer is written out: when it holds ``BYTES_PER_SPILL`` of Arrow data, and at ``spill()``.
    ``batch_of(key, rows)`` makes a key's rows an Arrow record batch."""

    def __init__(self, folder: str, batch_of: Callable[[Hashable, list], pa.RecordBatch]):
        self.folder, self.batch_of = folder, batch_of
        self.rows: dict[Hashable, list] = defaultdict(list)
        self.batches: dict[Hashable, list[pa.RecordBatch]] = defaultdict(list)
        self.row_count = self.nbytes = 0

    def add(self, key: Hashable, rows: list) -> list[tuple[Hashable, Spill]]:
        """Hold ``rows`` under ``key``; the (key, spill) of each file written out meanwhile."""
        self.rows[key].extend(rows)
        self.row_count += len(rows)
        if self.row_count < ROWS_PER_BATCH:
            return []
        self._to_arrow()
        return self.spill() if self.nbytes >= BYTES_PER_SPILL else []

    def spill(self) -> list[tuple[Hashable, Spill]]:
        """Write out everything held: (key, spill) per key."""
        self._to_arrow()
        written = [(key, write_spill(self.folder, batches)) for key, batches in self.batches.items()]
        self.batches.clear()
        self.nbytes = 0
        return written

    def _to_arrow(self) -> None:
        for key, rows in self.rows.items():
            batch = self.batch_of(key, rows)
            self.batches[key].append(batch)
            self.nbytes += batch.nbytes
        self.rows.clear()
        self.row_count = 0


def write_spill(folder: str, batches: list[pa.RecordBatch]) -> Spill:
    """One spill file of ``batches`` under ``folder``, named so that no two writers collide. Not written
    atomically: a file is read only once its path has been handed on, after it was closed."""
    ensure_folder(folder)
    path = FileSystems.join(folder, f"{uuid.uuid4().hex}.arrow")
    with FileSystems.create(path) as sink, pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return Spill(path, sum(batch.num_rows for batch in batches))


def read_spills(spills: Iterable[Spill], schema: pa.Schema) -> pa.Table:
    """The spills' rows as one table, sorted (``spilled_rows``)."""
    data, order = spilled_rows(spills, schema)
    return data.take(order)


def spilled_rows(spills: Iterable[Spill], schema: pa.Schema) -> tuple[pa.Table, pa.Array]:
    """The spills' rows as one table, and their order by its scalar columns: the same rows in the same
    order whatever order a runner delivered them in, so a file's bytes do not depend on the runner."""
    tables = []
    for path in sorted(spill.path for spill in spills):
        with FileSystems.open(path) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
    data = pa.concat_tables(tables) if tables else schema.empty_table()
    keys = [(f.name, "ascending") for f in schema if not pa.types.is_nested(f.type)]
    return data, pc.sort_indices(data, sort_keys=keys)
