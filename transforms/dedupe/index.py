"""The dedupe index: what earlier runs wrote, kept beside the dataset so that a later run (or a restarted
stream) finds copies of it.

    <state>/dedupe/bands/part=<xx>/part-<name>.parquet      IndexedBand: band key, article id
    <state>/dedupe/sketches/part=<xx>/part-<name>.parquet   IndexedSketch: id, cluster, times, sketch
    <state>/dedupe/{bands,sketches}/part=all/...             the same rows, every key in one file

``<state>`` is ``_state`` inside the run's version of the dataset, so the index is committed with the
tables (append versions start as links of the committed index, overwrite versions empty) and a failed run
leaves it as it was. Band rows are partitioned by the band key's hash (``xx``: 256 partitions), sketch rows
by the article id's hash: a lookup reads only the band partitions its documents' keys fall in, then only
the sketch partitions of the candidates found there, each as one keyed step, so no worker holds the index.

Small runs would otherwise add a file to every partition they touch (173 files for 10 articles, issue 24),
so the index is kept in two tiers: a run (or a stream's bundle) of at most ``SMALL_RUN`` articles writes
one file per table under ``part=all``, read beside every partition (each file once per process, sorted,
looked up by bisection); larger runs write partitioned. ``tidy``, at the end of every run that adds to the
index, merges ``part=all`` into one file when it holds more than ``ALL_MAX_FILES``, spreads it over the
partitions when it holds more than ``ALL_MAX_ARTICLES`` articles, and merges a partition that holds more
than ``PARTITION_MAX_FILES`` files: the index holds at most about 2 x (9 + 256 x 5) files, whatever its age.
Merged files are new files (``part-merged-<run>-<unique>``), rows unchanged; the replaced ones are removed
from this version only (links of the committed one). ``python -m pipelines.compact`` still merges every
folder into one file.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.dedupe.clusters import MAX_ANCHORS
from transforms.dedupe.fingerprints import BUCKET_HEX, DedupeSettings, Sketch, band_keys, sketch, verify
from transforms.schema import IndexedBand, IndexedSketch, arrow_schema
from transforms.sink import view
from transforms.write.parquet import table_files, write_table

INDEX, BANDS, SKETCHES = "dedupe", "bands", "sketches"
INDEX_TABLES = {BANDS: arrow_schema(IndexedBand), SKETCHES: arrow_schema(IndexedSketch)}
STATE_TABLES = {f"{INDEX}/{table}": schema for table, schema in INDEX_TABLES.items()}  # under ``<state>``: what compaction merges
PARTITION_HEX = BUCKET_HEX  # a stream's state key (band and these digits) then falls in one partition, with the other bands' keys
KEY_COLUMNS = {BANDS: "band_key", SKETCHES: "article_id"}  # what a table is partitioned, sorted and looked up by
PARTITIONS = tuple(f"{n:0{PARTITION_HEX}x}" for n in range(16**PARTITION_HEX))  # a partition: a hash's first hex digits
ALL = "all"  # the partition of small runs' rows, every key
SMALL_RUN = 2_000  # articles: a run or bundle with no more writes one file per table, in ``part=all``
ALL_MAX_FILES = 8  # ``part=all``'s files merged into one when it holds more
ALL_MAX_ARTICLES = 5_000  # ``part=all`` spread over the partitions when it holds more (a lookup reads it whole)
PARTITION_MAX_FILES = 4  # a partition's files merged into one when it holds more


@dataclasses.dataclass(frozen=True)
class Earlier:
    """A copy's earlier article: the cluster to join, when it was published, how much of it is repeated."""

    cluster_id: str
    at: dt.datetime
    similarity: float


def index_folder(state: str) -> str:
    return FileSystems.join(state, INDEX)


def sketch_files(folder: str) -> list[str]:
    return sorted(view.match(FileSystems.join(folder, SKETCHES, "*", "part-*.parquet")))


def has_entries(folder: str) -> bool:
    """Whether any run has added to the index (a run into an empty index need not look anything up)."""
    return bool(sketch_files(folder))


def first_signature(folder: str) -> Optional[bytes]:
    """One indexed signature, reading a few rows (a compacted partition file can be large); a rebuilt
    index's duplicates have none."""
    for path in sketch_files(folder):
        with FileSystems.open(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=64, columns=["signature"]):
                found = next((value for value in batch.column(0).to_pylist() if value), None)
                if found:
                    return found
    return None


def is_indexed_with(folder: str, signature: bytes, bands: int, rows: int) -> bool:
    """Whether an indexed signature's first band key under this banding is in the index."""
    if len(signature) != bands * rows * 4:
        return False
    key = band_keys(signature, DedupeSettings(bands=bands, rows=rows))[0]
    return bool(read_partition(folder, BANDS, band_partition(key), filters=[("band_key", "==", key)]))


def check_banding(folder: str, settings: DedupeSettings) -> None:
    """Refuse (ValueError) a run whose LSH banding differs from the index's: their band keys would never
    meet, and every copy of an earlier article would pass as new. One indexed sketch tells which banding
    its band rows were made with."""
    signature = first_signature(folder)
    if signature is None or is_indexed_with(folder, signature, settings.bands, settings.rows):
        return
    permutations = len(signature) // 4
    built = [(b, permutations // b) for b in range(1, permutations + 1) if permutations % b == 0]
    found = next((f"{b} x {r}" for b, r in built if is_indexed_with(folder, signature, b, r)), "another banding")
    raise ValueError(
        f"the dedupe index of this dataset was built with {found} LSH bands, not {settings.bands} x {settings.rows}: "
        "run with the banding it was built with (--lsh_bands, --lsh_rows), or start a new dataset"
    )


def file_rows(paths: Iterable[str]) -> int:
    """Rows of Parquet files, from their footers."""
    total = 0
    for path in paths:
        with FileSystems.open(path) as handle:
            total += pq.ParquetFile(handle).metadata.num_rows
    return total


def check_complete(folder: str, root: str, output: str) -> None:
    """Refuse (ValueError) a run whose index knows fewer documents than the dataset at ``root`` holds as
    articles and duplicates: every row written has a sketch row, so fewer means the index was removed or
    damaged, and the run would take every earlier copy, and every document read again, for a new article."""
    written = file_rows(path for table in ("articles", "duplicates") for path in table_files(root, table))
    known = file_rows(sketch_files(folder)) if written else 0
    if known < written:
        raise ValueError(
            f"the dedupe index of {output} knows {known} of the {written} articles and duplicates it holds "
            f"(was _state/{INDEX} removed?): rebuild it with `python -m pipelines.reindex {output}`"
        )


def band_partition(band_key: str) -> str:
    return band_key.split(":", 1)[1][:PARTITION_HEX]


def sketch_partition(article_id: str) -> str:
    return hashlib.md5(article_id.encode("utf-8")).hexdigest()[:PARTITION_HEX]


def event_time(published_at: Optional[dt.datetime], ingested_at: dt.datetime) -> dt.datetime:
    """When an article happened, for the order of copies: its publication, or its ingestion when undated."""
    return published_at if published_at is not None else ingested_at


def within_horizon(old: IndexedSketch, published_at: Optional[dt.datetime], ingested_at: dt.datetime, horizon: float) -> bool:
    """Whether an earlier article is recent enough for a newcomer to be a copy of it: publication dates
    compared when both are dated, else ingestion times. An undated document's ingestion says nothing of its
    story's age, so against a dated copy's publication it put a copy read a minute later years away, and the
    clusters depended on how the input was batched (one run applies no horizon). A row is undated when its
    ``at`` is its ingestion; a row written before ingestion times were kept counts its ``at`` as both."""
    limit = dt.timedelta(seconds=horizon)
    old_dated = old.ingested_at is None or old.at != old.ingested_at
    if published_at is not None and old_dated:
        return old.at >= published_at - limit
    return (old.ingested_at or old.at) >= ingested_at - limit


def index_rows(entry: IndexedSketch, settings: DedupeSettings) -> list[tuple[str, str, tuple]]:
    """(table, partition, row): one sketch row and one band row per LSH band. A row is a tuple of the
    table's columns in order: a run shuffles bands + 1 of them per article, and a dict per row cost more
    than the rest of the index's writing."""
    sketch_row = tuple(getattr(entry, name) for name in INDEX_TABLES[SKETCHES].names)
    keys = band_keys(entry.signature, settings) if entry.signature else []  # a rebuilt duplicate: its id only
    bands = [(BANDS, band_partition(key), (key, entry.article_id)) for key in keys]  # IndexedBand's column order
    return [(SKETCHES, sketch_partition(entry.article_id), sketch_row), *bands]


def partition_folder(folder: str, table: str, partition: str) -> str:
    return FileSystems.join(folder, table, f"part={partition}")


def partition_files(folder: str, table: str, partition: str, skip_run: Optional[str] = None) -> list[str]:
    """The index files of one partition, less those of run ``skip_run`` (a run does not look itself up)."""
    return [m.path for m in _partition_metadata(folder, table, partition, skip_run)]


def _partition_metadata(folder: str, table: str, partition: str, skip_run: Optional[str] = None) -> list:
    pattern = FileSystems.join(partition_folder(folder, table, partition), "part-*.parquet")
    if view.is_local(pattern):
        found = FileSystems.match([pattern])[0].metadata_list
    else:  # a version on an object store: its files are listed by the version, and never rewritten in place
        found = [FileMetadata(path, 0) for path in view.match(pattern)]
    mine = f"part-{skip_run}" if skip_run else None
    return sorted((m for m in found if not (mine and m.path.rsplit("/", 1)[-1].startswith(mine))), key=lambda m: m.path)


def read_partition(folder: str, table: str, partition: str, skip_run: Optional[str] = None, filters=None) -> list[dict]:
    """The rows of one partition and of ``part=all`` (``filters``: pyarrow's, on the partition's files; on
    ``part=all``'s, the same forms on the key column: ``in``, ``==``, and a ``>=``/``<`` range). A file that
    a stream's ``tidy`` merged away while it was listed: read again, from a new listing (the merged file is
    written before the old ones are removed)."""
    try:
        return _read_partition(folder, table, partition, skip_run, filters)
    except FileNotFoundError:
        return _read_partition(folder, table, partition, skip_run, filters)


def _read_partition(folder: str, table: str, partition: str, skip_run: Optional[str], filters) -> list[dict]:
    rows = []
    for path in partition_files(folder, table, partition, skip_run):
        with FileSystems.open(path) as handle:
            rows.extend(pq.read_table(handle, schema=INDEX_TABLES[table], filters=filters).to_pylist())
    if partition != ALL:
        names = INDEX_TABLES[table].names
        for m in _partition_metadata(folder, table, ALL, skip_run):
            keys, values = _sorted_file(m.path, m.size_in_bytes, table)
            rows.extend(dict(zip(names, row)) for row in _matching(keys, values, KEY_COLUMNS[table], filters))
    return rows


@functools.lru_cache(maxsize=2 * (ALL_MAX_FILES + 1))
def _sorted_file(path: str, size: int, table: str) -> tuple[list, list[tuple]]:
    """A ``part=all`` file's rows (tuples) sorted by the table's key, and the keys: read once per process
    (each lookup group reads beside its partition), looked up by bisection. ``size`` keys the cache with
    the path, as a batch run's name is fixed."""
    with FileSystems.open(path) as handle:
        data = pq.read_table(handle, schema=INDEX_TABLES[table]).sort_by(KEY_COLUMNS[table])
    rows = list(zip(*(data.column(name).to_pylist() for name in data.schema.names)))
    return [row[0] for row in rows], rows  # the key is each table's first column


def _matching(keys: list, rows: list[tuple], column: str, filters) -> Iterator[tuple]:
    if not filters:
        yield from rows
        return
    bounds = {op: value for name, op, value in filters if name == column}
    if len(bounds) != len(filters) or not set(bounds) <= {"in", "==", ">=", "<"}:
        raise ValueError(f"part=all is looked up by {column} only: {filters}")
    if "in" in bounds or "==" in bounds:
        for value in sorted(set(bounds.get("in", [bounds.get("==")]))):
            start = bisect.bisect_left(keys, value)
            yield from rows[start : bisect.bisect_right(keys, value, start)]
        return
    start = bisect.bisect_left(keys, bounds[">="]) if ">=" in bounds else 0
    yield from rows[start : bisect.bisect_left(keys, bounds["<"]) if "<" in bounds else len(rows)]


def run_partition(partition: str, articles: int) -> str:
    """Where a run of ``articles`` writes a row of ``partition``: ``part=all`` when the run is small."""
    return ALL if articles <= SMALL_RUN else partition


def partition_group(partition: str) -> str:
    """The group a batch run's rows of ``partition`` wait in on disk before their files are written."""
    return partition[:1]


PARTITION_GROUPS = tuple(sorted({partition_group(p) for p in PARTITIONS}))


def rows_batch(table: str, rows: list[tuple]) -> pa.RecordBatch:
    """Rows as ``index_rows`` makes them, as an Arrow record batch of the table."""
    schema = INDEX_TABLES[table]
    columns = list(zip(*rows)) or [[] for _ in schema.names]
    return pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=schema)


def _run_path(folder: str, table: str, partition: str, run_id: str, unique: bool = False) -> str:
    """A run's file of one partition; a batch run's name is fixed (a retried bundle rewrites it), a stream's
    bundles each get their own."""
    suffix = f"-{uuid.uuid4().hex[:8]}" if unique else ""
    return FileSystems.join(partition_folder(folder, table, partition), f"part-{run_id}{suffix}.parquet")


def write_index_file(folder: str, table: str, partition: str, run_id: str, rows: list[tuple], unique: bool = False) -> str:
    """One whole file of one partition (rows as ``index_rows`` makes them)."""
    path = _run_path(folder, table, partition, run_id, unique)
    write_table(path, pa.Table.from_batches([rows_batch(table, sorted(rows))]))
    return path


def write_by_partition(folder: str, table: str, data: pa.Table, path_of: Callable[[str], str]) -> list[str]:
    """Rows of one table (sorted by key) written into their partitions: one file each, at ``path_of(partition)``."""
    partitions = pa.array([_key_partition(table, key) for key in data.column(KEY_COLUMNS[table]).to_pylist()])
    written = []
    for partition in sorted(set(partitions.to_pylist())):
        written.append(path_of(partition))
        write_table(written[-1], data.filter(pc.equal(partitions, partition)))
    return written


def write_run_files(folder: str, table: str, place: str, run_id: str, data: pa.Table) -> list[str]:
    """A batch run's rows of one table, sorted by key, from one partition group or from all of a small
    run (``place``: a group, or ``ALL``; ``run_partition``), as the run's files."""
    if place == ALL:
        write_table(path := _run_path(folder, table, ALL, run_id), data)
        return [path]
    return write_by_partition(folder, table, data, lambda partition: _run_path(folder, table, partition, run_id))


def earlier_candidates(
    folder: str, partition: str, new_keys: Iterable[tuple[str, str]], skip_run: str
) -> Iterator[tuple[str, str]]:
    """(earlier id, new id) once per band key they share, from one partition: ``fewest_candidates`` ranks
    an article's candidates by how many keys they share. A band key shared by many earlier articles (a
    story copied a thousand times) pairs with its first ``MAX_ANCHORS`` only, as within a run: they are one
    cluster, and any of them finds it."""
    by_key: dict[str, list[str]] = {}
    for key, new_id in new_keys:
        by_key.setdefault(key, []).append(new_id)
    earlier: dict[str, set[str]] = {}
    for row in read_partition(folder, BANDS, partition, skip_run, filters=[("band_key", "in", sorted(by_key))]):
        earlier.setdefault(row["band_key"], set()).add(row["article_id"])
    for key, old_ids in sorted(earlier.items()):
        yield from ((old_id, new_id) for old_id in sorted(old_ids)[:MAX_ANCHORS] for new_id in by_key[key])


def known_ids(folder: str, partition: str, article_ids: Iterable[str], skip_run: str) -> Iterator[str]:
    """Which of the given ids earlier runs wrote (as an article or a duplicate), from one sketch partition:
    a document's id is its content within its source, so a known id is a document already ingested."""
    wanted = sorted(set(article_ids))
    for path in partition_files(folder, SKETCHES, partition, skip_run):
        with FileSystems.open(path) as handle:
            found = pq.read_table(handle, columns=["article_id"], filters=[("article_id", "in", wanted)])
        yield from found.column(0).to_pylist()
    for m in _partition_metadata(folder, SKETCHES, ALL, skip_run):
        keys, rows = _sorted_file(m.path, m.size_in_bytes, SKETCHES)
        yield from (row[0] for row in _matching(keys, rows, "article_id", [("article_id", "in", wanted)]))


def wanted_sketches(folder: str, partition: str, article_ids: Iterable[str], skip_run: str) -> Iterator[IndexedSketch]:
    """The sketch rows of the given earlier articles, from one partition."""
    wanted = sorted(set(article_ids))
    for row in read_partition(folder, SKETCHES, partition, skip_run, filters=[("article_id", "in", wanted)]):
        yield IndexedSketch(**row)


def indexed(
    article_id: str, cluster_id: str, at: dt.datetime, sketch: Sketch, ingested_at: Optional[dt.datetime] = None
) -> IndexedSketch:
    """The index row of an article's sketch (``stored_sketch`` reads it back); ``at``: its event time."""
    return IndexedSketch(article_id, cluster_id, at, sketch.signature, sketch.shingles, sketch.outline, ingested_at)


def stored_sketch(entry: IndexedSketch) -> Sketch:
    return Sketch(entry.signature, entry.shingles, entry.outline or b"")  # no outline in rows of older runs


def earliest(found: Iterable[Earlier]) -> Optional[Earlier]:
    """The earliest match; ties broken by cluster id, then similarity, so every runner picks the same one."""
    return min(found, key=lambda e: (e.at, e.cluster_id, -e.similarity), default=None)


def best_earlier(
    newcomer: Sketch,
    published_at: Optional[dt.datetime],
    ingested_at: dt.datetime,
    candidates: Iterable[IndexedSketch],
    settings: DedupeSettings,
) -> Optional[Earlier]:
    """The earliest earlier article (``within_horizon`` of the newcomer's times) that ``newcomer`` copies."""
    found = []
    for old in candidates:
        if not within_horizon(old, published_at, ingested_at, settings.horizon):
            continue
        score = verify(stored_sketch(old), newcomer, settings)
        if score is not None:
            found.append(Earlier(old.cluster_id, old.at, score))
    return earliest(found)


def remembered_rows(folder: str, state_key: str, skip_run: str) -> Iterator[tuple[str, IndexedSketch]]:
    """(band key, sketch) of every indexed article under a stream's state key (its band and at least
    ``PARTITION_HEX`` first hex digits: ``across_time.state_key``): the key's rows of one band partition
    (the partition holds every band's keys with these digits; its files are sorted by key, so the range
    filter skips the other bands' row groups) and of ``part=all``, then the sketch partitions they point to."""
    under_key = [("band_key", ">=", state_key), ("band_key", "<", state_key + "\U0010ffff")]
    keys_of: dict[str, list[str]] = {}
    for row in read_partition(folder, BANDS, band_partition(state_key), skip_run, filters=under_key):
        keys_of.setdefault(row["article_id"], []).append(row["band_key"])
    by_partition: dict[str, list[str]] = {}
    for article_id in keys_of:
        by_partition.setdefault(sketch_partition(article_id), []).append(article_id)
    found = {}
    for sketch_part, ids in sorted(by_partition.items()):
        for entry in wanted_sketches(folder, sketch_part, ids, skip_run):
            found.setdefault(entry.article_id, entry)
    for article_id, entry in sorted(found.items()):
        for key in keys_of[article_id]:
            yield key, entry


def rebuilt_entries(root: str, settings: DedupeSettings, ingested_at: Callable[[str], dt.datetime]) -> Iterator[IndexedSketch]:
    """The index rows of a dataset's tables, for an index that was lost: each article's sketch made again from
    its text (what the run sketched), each duplicate's id alone (its text is not kept: a copy of it is
    still found through its canonical article). ``ingested_at(path)``: the event time of an undated row
    of that file."""
    for path in table_files(root, "articles"):
        with FileSystems.open(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=["article_id", "cluster_id", "published_at", "text"]):
                for row in batch.to_pylist():
                    at = event_time(row["published_at"], ingested_at(path))
                    yield indexed(row["article_id"], row["cluster_id"], at, sketch(row["text"], settings), ingested_at(path))
    for path in table_files(root, "duplicates"):
        with FileSystems.open(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=["article_id", "cluster_id", "published_at"]):
                for row in batch.to_pylist():
                    at = event_time(row["published_at"], ingested_at(path))
                    yield IndexedSketch(row["article_id"], row["cluster_id"], at, b"", 0, b"", ingested_at(path))


def rebuild(root: str, folder: str, run_id: str, settings: DedupeSettings, ingested_at: Callable[[str], dt.datetime]) -> int:
    """Write the index of the dataset at ``root`` into ``folder`` (empty), as one run's files; returns the
    documents indexed."""
    files: dict[tuple[str, str], list[tuple]] = {}
    count = 0
    for entry in rebuilt_entries(root, settings, ingested_at):
        count += 1
        for table, partition, row in index_rows(entry, settings):
            files.setdefault((table, partition), []).append(row)
    for (table, partition), rows in sorted(files.items()):
        write_index_file(folder, table, partition, run_id, rows)
    return count


def _key_partition(table: str, key: str) -> str:
    return band_partition(key) if table == BANDS else sketch_partition(key)


def _read_all(table: str, paths: list[str]) -> pa.Table:
    parts = []
    for path in paths:
        with FileSystems.open(path) as handle:
            parts.append(pq.read_table(handle, schema=INDEX_TABLES[table]))
    return pa.concat_tables(parts).sort_by(KEY_COLUMNS[table])


def _merged_path(folder: str, table: str, partition: str, run_id: str) -> str:
    return FileSystems.join(partition_folder(folder, table, partition), f"part-merged-{run_id}-{uuid.uuid4().hex[:8]}.parquet")


def merge_files(folder: str, table: str, partition: str, paths: list[str], run_id: str) -> str:
    """One partition's files as one new file, sorted by key; the old ones removed."""
    path = _merged_path(folder, table, partition, run_id)
    write_table(path, _read_all(table, paths))
    _delete(paths)
    return path


def _delete(paths: list[str]) -> None:
    """Remove merged files; one another tidy removed first is no error (its rows are in both merges)."""
    for path in paths:
        if FileSystems.exists(path):
            try:
                FileSystems.delete([path])
            except Exception:  # BeamIOError: removed between the check and the delete
                if FileSystems.exists(path):
                    raise


def spread(folder: str, table: str, run_id: str) -> list[str]:
    """``part=all``'s rows of one table written into their partitions, one new file each; the old removed."""
    paths = partition_files(folder, table, ALL)
    if not paths:
        return []
    written = write_by_partition(folder, table, _read_all(table, paths), lambda p: _merged_path(folder, table, p, run_id))
    _delete(paths)
    return written


def files_by_partition(folder: str, table: str) -> dict[str, list[str]]:
    by_partition: dict[str, list[str]] = {}
    for m in FileSystems.match([FileSystems.join(folder, table, "part=*", "part-*.parquet")])[0].metadata_list:
        by_partition.setdefault(m.path.rsplit("/", 2)[-2].split("=", 1)[1], []).append(m.path)
    return {partition: sorted(paths) for partition, paths in by_partition.items()}


def tidy(folder: str, run_id: str) -> list[str]:
    """Keep the index to a bounded number of files (the module's docstring says how); returns the files
    written. Run once a run's own files are written, by one worker. On an object store the earlier
    versions' files are shared, never deleted under them: there ``pipelines.compact`` merges the index."""
    if not view.is_local(folder):
        return []
    written = []
    if file_rows(partition_files(folder, SKETCHES, ALL)) > ALL_MAX_ARTICLES:
        for table in INDEX_TABLES:
            written += spread(folder, table, run_id)
    for table in INDEX_TABLES:
        for partition, paths in sorted(files_by_partition(folder, table).items()):
            if len(paths) > (ALL_MAX_FILES if partition == ALL else PARTITION_MAX_FILES):
                written.append(merge_files(folder, table, partition, paths, run_id))
    return written
