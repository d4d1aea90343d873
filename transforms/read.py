"""Read: file globs -> ``RawDocument`` records, one per document, keeping each document's input path: the
Beam shell around ``transforms.formats`` (one module per input format, which turns a file's bytes into
documents, error rows and counted skips).

One bad file never stops the run: a file name that is not UTF-8 is one error row (no table or state could
hold it); a FIFO, device or socket is counted as skipped and never opened (opening a FIFO blocks,
``/dev/zero`` never ends); a file no format claims is one error row naming the formats there are. Each
file's content digest is kept with the dataset (``STATE/files/``, partitioned and read by key:
``keyed_sets``): in append mode a file already ingested, same path and content, is skipped and counted, so
a rerun adds no row. An input record that is no document (a WARC request, an image) and a document
``--hosts`` filters out are counted as ``read/skipped_<kind>``. Documents are reshuffled after reading, so
that the records of one large archive are parsed and cleaned by every worker, not by the one that read it.

A document's id is its content within its source (``formats.content_id``): the path and a digest of the
bytes (a JSONL line's or WARC record's, with how many times those bytes came before in the file), never a
line number or an offset. So a file that grows, or is corrected, gives its unchanged documents their old
ids, which the dedupe index knows (``dedupe.across_runs.SkipIngested``: "already ingested").
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Optional, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.compression import GZIP_MAGIC, StreamReader, decompressed, is_gzip
from transforms.files import printable_path, special_kind
from transforms.filters import NO_FILTERS, FilterSettings
from transforms.formats import DEFAULT_LIMITS, ReadSettings, Record, Skip, content_digest, content_id, described, format_of
from transforms.keyed_sets import KeyedSet, add_partition_keys, key_partition
from transforms.parcels import Park, Unpark
from transforms.schema import READ, ErrorRecord, RawDocument
from transforms.stage import SkipCounters, SplitByType

__all__ = ["ReadDocuments", "ReadSettings", "RememberFiles", "content_digest", "content_id", "read_documents"]

FILES_FOLDER = "files"  # under the state folder: the keys of every file ingested
SNIFF_BYTES = 1 << 12


@dataclasses.dataclass(frozen=True)
class InputFile:
    """A file the run read: path and content digest, remembered so that a later run can skip it."""

    path: str
    digest: str

    @property
    def key(self) -> str:
        return f"{self.digest} {self.path}"


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file skipped because an earlier run ingested the same path with the same content."""

    path: str


@dataclasses.dataclass(frozen=True)
class SpecialFile:
    """A match that is no regular file (a FIFO, a device, a socket): skipped and counted, never opened."""

    path: str
    kind: str  # "a FIFO", "a character device", ...


def read_file(path: str, stream: BinaryIO, limits: ReadSettings = DEFAULT_LIMITS) -> Iterator[Record]:
    """All the documents (errors, skips) in one file's raw stream, by the format that claims it: by its
    name, or else by its first bytes."""
    if (found := format_of(path)) is not None:
        yield from found.read(path, stream, limits)
        return
    head = stream.read(SNIFF_BYTES)
    gzipped = head.startswith(GZIP_MAGIC) and not is_gzip(path)  # a .gz by its bytes, not its name
    try:
        found = format_of(path, next(decompressed(path + ".gz" if gzipped else path, io.BytesIO(head), SNIFF_BYTES), b""))
    except ValueError:
        found = None
    if found is None:
        reason = f"unsupported file type {path.rsplit('/', 1)[-1]!r}: expected {described()}"
        yield ErrorRecord.of(path, READ, reason, head)
        return
    stream = io.BufferedReader(_Prefixed(head, stream))
    if gzipped:
        stream = io.BufferedReader(StreamReader(decompressed(path + ".gz", stream)))
    yield from found.read(path, stream, limits)


def read_documents(path: str, data: bytes, limits: ReadSettings = DEFAULT_LIMITS) -> Iterator[Record]:
    """All the documents in one file's bytes, or the errors that stopped them (its skips left out)."""
    return (record for record in read_file(path, io.BytesIO(data), limits) if not isinstance(record, Skip))


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were read already (to sniff its format), read again from the start."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.head[: len(buffer)] if self.head else self.stream.read(len(buffer))
        self.head = self.head[len(data) :]
        buffer[: len(data)] = data
        return len(data)


def file_digest(stream: BinaryIO, chunk: int = 1 << 20) -> str:
    digest = hashlib.blake2b(digest_size=16)
    while block := stream.read(chunk):
        digest.update(block)
    return digest.hexdigest()


def portable_path(path: str) -> Union[str, bytes]:
    """A matched path as it can travel between steps: a name that is not UTF-8 (Python holds its odd bytes
    as surrogates, which no coder encodes) travels as its bytes, to become one error row."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


class _ReadFiles(beam.DoFn):
    """Each file -> an ``InputFile`` (to remember it) and its documents or errors; or, when an earlier run
    ingested the same path with the same content, a ``SkippedFile``; a special file -> a ``SpecialFile``,
    unopened; a name that is not UTF-8 -> one error. A skip (a record that is no document, a host filtered
    out) is counted here and goes no further. Whatever goes wrong in one file is an error row of that file,
    never a failed run."""

    def __init__(self, files_dir: Optional[str], limits: ReadSettings = DEFAULT_LIMITS, filters: FilterSettings = NO_FILTERS):
        self.files_dir, self.limits, self.filters = files_dir, limits, filters

    def setup(self):
        self.skips = SkipCounters(READ)  # read/skipped_<kind>: records that are no document, hosts filtered out
        self.ingested = KeyedSet(self.files_dir) if self.files_dir else frozenset()  # read by key

    def process(self, path: Union[str, bytes]) -> Iterable:
        if isinstance(path, bytes):
            yield ErrorRecord.of(printable_path(path), READ, "file name is not valid UTF-8: rename the file to read it")
            return
        if kind := special_kind(path):
            yield SpecialFile(path, kind)
            return
        try:
            for record in self.read(path):
                if isinstance(record, RawDocument) and (skip := self.filters.host_skip(record.url)):
                    record = skip
                if isinstance(record, Skip):
                    self.skips.count(record.kind)
                else:
                    yield record
        except Exception as e:  # a defect of ours on odd content: this file's error row, not the run's end
            reason = f"unexpected {type(e).__name__} while reading: {e}; the rest of the file is not read"
            yield ErrorRecord.of(path, READ, reason)

    def read(self, path: str) -> Iterator:
        try:
            # Raw bytes: we decompress ourselves, so that a corrupt .gz is an error row, not a crash.
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
                digest = file_digest(stream)
            read = InputFile(path, digest)
            if read.key in self.ingested:
                yield SkippedFile(path)
                return
            yield read
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
                yield from read_file(path, stream, self.limits)
        except OSError as e:
            yield ErrorRecord.of(path, READ, f"cannot read file: {e}")


class ReadDocuments(beam.PTransform):
    """Match file globs and read every document in them; outputs ``.documents`` (reshuffled: one archive's
    records spread over the workers), ``.errors``, ``.files`` (``InputFile``s read, to remember),
    ``.skipped`` (files ingested by an earlier run) and ``.special`` (FIFOs, devices, sockets: counted,
    never opened). ``files_dir``: where earlier runs' ``InputFile`` keys are, or None to read every file;
    ``parcels``: where the documents are parked on their way to the workers (``transforms.parcels``), or None
    to reshuffle them in memory (a read small enough to hold)."""

    def __init__(
        self,
        patterns: list[str],
        files_dir: Optional[str] = None,
        limits: ReadSettings = DEFAULT_LIMITS,
        filters: FilterSettings = NO_FILTERS,
        parcels: Optional[str] = None,
    ):
        super().__init__()
        self.patterns, self.files_dir, self.limits, self.filters = list(patterns), files_dir, limits, filters
        self.parcels = parcels

    def expand(self, pbegin):
        read = (
            pbegin
            | "Patterns" >> beam.Create(self.patterns)
            | "Match" >> fileio.MatchAll()
            | "Paths" >> beam.Map(lambda metadata: portable_path(metadata.path))
            | "OncePerFile" >> beam.Distinct()  # overlapping globs must not read a file twice
            | "Documents" >> beam.ParDo(_ReadFiles(self.files_dir, self.limits, self.filters))
            | "ByType"
            >> SplitByType(
                READ,
                documents=RawDocument,
                errors=ErrorRecord,
                files=InputFile,
                skipped=SkippedFile,
                special=SpecialFile,
            )
        )
        # a 1 GB WARC is one file, but not one worker's: its documents spread over the workers, parked on disk
        # on the way when a folder is given (the local runner would hold every document of the run)
        if self.parcels:
            parcels = read.documents | "Park" >> beam.ParDo(Park(self.parcels))
            spread = {"parcels": parcels} | "Spread" >> Unpark(self.parcels)
        else:
            spread = read.documents | "Spread" >> beam.Reshuffle()
        return read._replace(documents=spread)


class RememberFiles(beam.PTransform):
    """``InputFile``s -> their keys added to the set under ``files_dir`` (``keyed_sets``: a file per
    partition touched); outputs the paths written."""

    def __init__(self, files_dir: str):
        super().__init__()
        self.files_dir = files_dir

    def expand(self, files):
        folder = self.files_dir
        return (
            files
            | "ByPartition" >> beam.Map(lambda f: (key_partition(f.key), f.key))
            | "Partitions" >> beam.GroupByKey()
            | "Write" >> beam.FlatMapTuple(lambda partition, keys: add_partition_keys(folder, partition, keys))
        )
