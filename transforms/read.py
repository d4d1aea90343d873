"""Read: file globs -> ``RawDocument`` records, one per document, keeping each document's input path.

A ``.txt`` file is one plain-text page dump, an ``.html``/``.htm`` file one page, a ``.jsonl`` file one
document per line (fields ``url``, ``title``, ``text`` or ``html``, ``published``, ``source``, all optional),
a feed file (``.rss``, ``.atom``, ``.xml``, ``.rdf``) one document per entry, and ``.gz`` wraps any of
these. What cannot be read becomes an ``ErrorRecord`` with stage ``read``.

No file is read whole into memory past ``--max_document_bytes``, decompressed or not: a JSONL file is read
as a stream of lines, each line capped (a longer line is one error row; reading goes on after it); a
UTF-16/32 JSONL file is decoded on the way, a chunk at a time. A tiny file must not make unbounded work, so
a JSONL file is cut, with one error row saying where and by which cap, after ``--max_file_lines`` lines,
``--max_file_bytes`` decompressed bytes or ``--max_file_errors`` bad lines (``ReadSettings``).

One bad file never stops the run: a file name that is not UTF-8 is one error row (no table or state could
hold it); a FIFO, device or socket is counted as skipped and never opened (opening a FIFO blocks,
``/dev/zero`` never ends). Every document records the encoding its bytes were decoded with. Each file's
content digest is kept with the dataset (``STATE/files/``): in append mode a file already ingested, same
path and content, is skipped and counted, so a rerun adds no row.

A document's id is its content within its source (``content_id``): the path and a digest of the file's
bytes (a JSONL line's, with how many times that line came before it in the file), never a line number. So a
JSONL file that grows, or is corrected, gives its unchanged lines their old ids, which the dedupe index
knows (``dedupe.across_runs.SkipIngested``: "already ingested"), and a changed document a new id.
"""

from __future__ import annotations

import codecs
import collections
import dataclasses
import hashlib
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Optional, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.decode import MAX_DOCUMENT_BYTES, bom_encoding, decode_html, decode_text, decompress, looks_binary, wide_encoding
from transforms.feeds.formats import feed_records, type_name
from transforms.files import printable_path, read_key_sets, special_kind, write_key_set
from transforms.schema import READ, ErrorRecord, RawDocument, document_id, shard_of
from transforms.settings import byte_size, option, show_size
from transforms.stage import SplitByType

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".rdf", ".feed")
FILES_FOLDER = "files"  # under the state folder: the keys of every file ingested

Record = Union[RawDocument, ErrorRecord]


@dataclasses.dataclass(frozen=True)
class ReadSettings:
    """Reading files: caps that keep one file's work bounded, whatever it holds."""

    max_document_bytes: int = option(
        MAX_DOCUMENT_BYTES,
        "largest document, decompressed: a .txt/.html/feed file, or one JSONL line (a longer line is one error "
        "row and the lines after it are read)",
        parse=byte_size,
        minimum=2**10,
        maximum=2**30,
    )
    max_file_bytes: int = option(
        2**30,
        "JSONL: decompressed bytes read from one file; the rest is cut, with one error row saying so",
        parse=byte_size,
        minimum=2**10,
        maximum=2**40,
    )
    max_file_lines: int = option(
        100_000,
        "JSONL: lines (blank ones too) read from one file; the rest is cut, with one error row saying so",
        minimum=1,
        maximum=10**9,
    )
    max_file_errors: int = option(
        1_000,
        "JSONL: bad lines (malformed, no text, too long) in one file before the rest is cut, with one error row "
        "saying so: a file of junk is not a million error rows",
        minimum=1,
        maximum=10**9,
    )


DEFAULT_LIMITS = ReadSettings()


def inner_name(path: str) -> str:
    lower = path.lower()
    return lower[:-3] if lower.endswith(".gz") else lower


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


class FileCut(ValueError):
    """A file is read no further: a cap of ``ReadSettings`` was reached."""


def content_digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def content_id(path: str, digest: bytes, occurrence: int = 1) -> str:
    """A document's id: its source path and the digest of its bytes (the ``occurrence``-th copy of them in
    the file, so two equal lines of one file are two documents, the second an exact duplicate)."""
    return document_id(path, digest.hex() if occurrence == 1 else f"{digest.hex()}#{occurrence}")


def read_documents(path: str, data: bytes, limits: ReadSettings = DEFAULT_LIMITS) -> Iterator[Record]:
    """All the documents in one file's bytes, or the errors that stopped them."""
    name = inner_name(path)
    if name.endswith(JSONL_SUFFIXES):
        yield from read_jsonl(path, io.BytesIO(data), limits)
        return
    try:
        data = decompress(path, data, limits.max_document_bytes)
        if not data.strip():
            raise ValueError("empty file")
        if looks_binary(data):
            raise ValueError("binary content (NUL or control bytes), not a text or HTML document")
        if name.endswith(FEED_SUFFIXES):
            yield from feed_records(path, data)[0]
        elif name.endswith(HTML_SUFFIXES):
            page = decode_html(data)
            yield RawDocument(content_id(path, content_digest(data)), path, "html", page.text, encoding=page.encoding)
        elif name.endswith(TEXT_SUFFIXES):
            text = decode_text(data)
            yield RawDocument(content_id(path, content_digest(data)), path, "text", text.text, encoding=text.encoding)
        else:
            raise ValueError(
                f"unsupported file type {name.rsplit('/', 1)[-1]!r}: expected "
                ".txt, .html, .htm, .jsonl, a feed (.rss, .atom, .xml, .rdf) or one of these .gz"
            )
    except ValueError as e:
        yield ErrorRecord.of(path, READ, str(e), data)


def read_jsonl(path: str, stream: BinaryIO, limits: ReadSettings = DEFAULT_LIMITS) -> Iterator[Record]:
    """One document (or error) per line of a JSONL stream, read as it comes. A line over the document cap
    is one error and reading goes on; a cap of the file (lines, decompressed bytes, bad lines) cuts it
    with one error row at the first line not read."""
    number, wide, bad, seen = 0, [], 0, collections.Counter()

    def cut(why: str) -> ErrorRecord:
        return ErrorRecord.of(f"{path}:{number}", READ, f"file cut at {why}: the rest of the file is not read")

    try:
        for number, line in enumerate(stream_lines(path, stream, limits, wide=wide), start=1):
            if number > limits.max_file_lines:
                yield cut(f"{limits.max_file_lines} lines (--max_file_lines)")
                return
            if line is not None and not line.strip():
                continue
            if line is not None:
                digest = content_digest(line)
                seen[digest] += 1  # 16 bytes a line, not the line
            try:
                if line is None:
                    raise ValueError(
                        f"a line longer than {limits.max_document_bytes} bytes ({show_size(limits.max_document_bytes)}, "
                        "--max_document_bytes): not one news document"
                    )
                yield jsonl_document(path, number, line, wide[0] if wide else None, content_id(path, digest, seen[digest]))
            except ValueError as e:
                bad += 1
                if bad > limits.max_file_errors:
                    yield cut(f"{limits.max_file_errors} bad lines (--max_file_errors)")
                    return
                yield ErrorRecord.of(f"{path}:{number}", READ, str(e), line or b"")
    except ValueError as e:
        number += 1  # the first line not read
        yield cut(str(e)) if isinstance(e, FileCut) else ErrorRecord.of(f"{path}:{number}", READ, str(e))


def stream_lines(
    path: str, stream: BinaryIO, limits: ReadSettings = DEFAULT_LIMITS, chunk: int = 1 << 20, wide: Optional[list] = None
) -> Iterator[Optional[bytes]]:
    """The lines of a (gzipped) byte stream as UTF-8, decompressed and decoded a chunk at a time; a line over
    ``limits.max_document_bytes`` comes as None, its bytes dropped as they come. ``ValueError`` for binary
    content, a corrupt gzip stream, or nothing at all; ``FileCut`` past ``limits.max_file_bytes``. A UTF-16/32
    stream's encoding is appended to ``wide``."""
    cap = limits.max_document_bytes
    pending, seen_any, skipping = b"", False, False
    pieces = decompressed(path, stream, chunk, limits.max_file_bytes)
    for piece in as_utf8(pieces, wide if wide is not None else []):
        if not seen_any and piece.strip() and looks_binary(piece):
            raise ValueError("binary content (NUL or control bytes), not a text or HTML document")
        seen_any |= bool(piece.strip())
        if skipping:  # the rest of an over-long line, up to its end
            end = piece.find(b"\n")
            if end < 0:
                continue
            piece, skipping = piece[end + 1 :], False
            yield None
        *lines, pending = (pending + piece).split(b"\n")
        for line in lines:
            yield line if len(line) <= cap else None
        if len(pending) > cap:
            pending, skipping = b"", True
    if not seen_any:
        raise ValueError("empty file")
    if skipping:
        yield None
    elif pending:
        yield pending


def as_utf8(pieces: Iterator[bytes], wide: list) -> Iterator[bytes]:
    """A byte stream in UTF-16/32 (by its BOM or its NUL pattern) re-encoded as UTF-8 piece by piece with
    an incremental decoder, its encoding appended to ``wide``; any other stream as it is (each line is
    decoded on its own)."""
    pieces = iter(pieces)
    first = next(pieces, b"")
    while not first and (first := next(pieces, None)) is not None:
        pass
    first = first or b""
    found = bom_encoding(first)
    encoding = found[0] if found else wide_encoding(first)
    if encoding is None or not encoding.startswith("utf-") or encoding == "utf-8":
        yield first
        yield from pieces
        return
    wide.append(encoding)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        yield decoder.decode(first[found[1] if found else 0 :]).encode("utf-8")
        for piece in pieces:
            yield decoder.decode(piece).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid {encoding}: {e.reason}") from None


def decompressed(path: str, stream: BinaryIO, chunk: int, limit: Optional[int] = None) -> Iterator[bytes]:
    """A stream's bytes, gunzipped when the path ends in ``.gz``, at most ``chunk`` bytes at a time: one
    compressed chunk of zeros cannot fill memory. Past ``limit`` bytes: ``FileCut``, after the bytes up
    to it."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if path.lower().endswith(".gz") else None
    total = 0

    def capped(piece: bytes) -> bytes:
        nonlocal total
        total += len(piece)
        return piece if limit is None or total <= limit else piece[: len(piece) - (total - limit)]

    def over() -> bool:
        return limit is not None and total > limit

    cut = FileCut(f"{limit} decompressed bytes ({show_size(limit or 0)}, --max_file_bytes)")
    while compressed := stream.read(chunk):
        if inflater is None:
            yield capped(compressed)
            if over():
                raise cut
            continue
        try:
            yield capped(inflater.decompress(compressed, chunk))
            while inflater.unconsumed_tail and not over():
                yield capped(inflater.decompress(inflater.unconsumed_tail, chunk))
        except zlib.error as e:
            raise ValueError(f"corrupt or truncated gzip data: {e}") from None
        if over():
            raise cut
    if inflater is not None and not inflater.eof:
        raise ValueError("corrupt or truncated gzip data: the stream ends early")


def jsonl_document(
    path: str, number: int, line: bytes, encoding: Optional[str] = None, doc_id: Optional[str] = None
) -> RawDocument:
    """One JSONL line; ``encoding``: the file's, when the stream was decoded already (UTF-16/32); ``doc_id``:
    its id, when the line is not the first of its content in the file (``read_jsonl`` counts them)."""
    decoded = decode_text(line)
    try:
        record = json.loads(decoded.text)
    except json.JSONDecodeError as e:
        raise ValueError(f"malformed JSON line: {e.msg} at column {e.colno}") from None
    except RecursionError:
        raise ValueError("malformed JSON line: nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError(f"JSON line is a {type(record).__name__}, expected an object")

    def field(name: str) -> str | None:
        """A string field; a number is taken as its text (``published`` as epoch seconds, say)."""
        value = record.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"JSON line: {name!r} is {type_name(value)}, expected a string")

    html, text = field("html"), field("text")
    if not (html or text or "").strip():
        raise ValueError("JSON line has neither 'text' nor 'html'")
    return RawDocument(
        doc_id=doc_id or content_id(path, content_digest(line)),
        source_path=f"{path}:{number}",
        format="html" if html else "text",
        body=html or text,
        url=field("url"),
        title=field("title"),
        published=field("published"),
        source=field("source"),
        encoding=encoding or decoded.encoding,
    )


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
    unopened; a name that is not UTF-8 -> one error. Whatever goes wrong in one file is an error row of
    that file, never a failed run."""

    def __init__(self, files_dir: Optional[str], limits: ReadSettings = DEFAULT_LIMITS):
        self.files_dir, self.limits = files_dir, limits

    def setup(self):
        self.ingested = frozenset(read_key_sets(self.files_dir)) if self.files_dir else frozenset()

    def process(self, path: Union[str, bytes]) -> Iterable:
        if isinstance(path, bytes):
            yield ErrorRecord.of(printable_path(path), READ, "file name is not valid UTF-8: rename the file to read it")
            return
        if kind := special_kind(path):
            yield SpecialFile(path, kind)
            return
        try:
            yield from self.read(path)
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
                if inner_name(path).endswith(JSONL_SUFFIXES):
                    yield from read_jsonl(path, stream, self.limits)
                    return
                data = stream.read(self.limits.max_document_bytes + 1)
        except OSError as e:
            yield ErrorRecord.of(path, READ, f"cannot read file: {e}")
            return
        yield from read_documents(path, data, self.limits)


class ReadDocuments(beam.PTransform):
    """Match file globs and read every document in them; outputs ``.documents``, ``.errors``, ``.files``
    (``InputFile``s read, to remember), ``.skipped`` (files ingested by an earlier run) and ``.special``
    (FIFOs, devices, sockets: counted, never opened). ``files_dir``: where earlier runs' ``InputFile`` keys
    are, or None to read every file."""

    def __init__(self, patterns: list[str], files_dir: Optional[str] = None, limits: ReadSettings = DEFAULT_LIMITS):
        super().__init__()
        self.patterns, self.files_dir, self.limits = list(patterns), files_dir, limits

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self.patterns)
            | "Match" >> fileio.MatchAll()
            | "Paths" >> beam.Map(lambda metadata: portable_path(metadata.path))
            | "OncePerFile" >> beam.Distinct()  # overlapping globs must not read a file twice
            | "Documents" >> beam.ParDo(_ReadFiles(self.files_dir, self.limits))
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


class RememberFiles(beam.PTransform):
    """``InputFile``s -> their keys added to the set under ``files_dir``, a file per shard; outputs the
    paths written (a side effect that flows on, as every runner must compute it)."""

    SHARDS = 16

    def __init__(self, files_dir: str):
        super().__init__()
        self.files_dir = files_dir

    def expand(self, files):
        folder, shards = self.files_dir, self.SHARDS
        return (
            files
            | "ByShard" >> beam.Map(lambda f: (shard_of(f.path, shards), f.key))
            | "Shards" >> beam.GroupByKey()
            | "Write" >> beam.FlatMap(lambda shard: filter(None, [write_key_set(folder, shard[1])]))
        )
