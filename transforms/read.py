"""Read: file globs -> ``RawDocument`` records, one per document, keeping each document's input path.

A ``.txt`` file is one plain-text page dump, an ``.html``/``.htm`` file one page, a ``.jsonl`` file one
document per line (fields ``url``, ``title``, ``text`` or ``html``, ``published``, ``source``, all optional),
a feed file (``.rss``, ``.atom``, ``.xml``, ``.rdf``) one document per entry, and ``.gz`` wraps any of
these. What cannot be read becomes an ``ErrorRecord`` with stage ``read``.

No file is read whole into memory past ``MAX_DOCUMENT_BYTES``, decompressed or not: a JSONL file is read
as a stream of lines, each line capped, so a gzip bomb stops at the cap; a UTF-16/32 JSONL file is decoded
on the way, a chunk at a time. Every document records the encoding its bytes were decoded with. Each file's content digest is
kept with the dataset (``STATE/files/``): in append mode a file already ingested, same path and content,
is skipped and counted, so a rerun adds no row.

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
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Optional, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from transforms.decode import MAX_DOCUMENT_BYTES, bom_encoding, decode_html, decode_text, decompress, looks_binary, wide_encoding
from transforms.feeds.formats import feed_records
from transforms.files import read_key_sets, write_key_set
from transforms.schema import READ, ErrorRecord, RawDocument, document_id, shard_of
from transforms.stage import SplitByType

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".rdf", ".feed")
FILES_FOLDER = "files"  # under the state folder: the keys of every file ingested

Record = Union[RawDocument, ErrorRecord]


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


def content_digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def content_id(path: str, digest: bytes, occurrence: int = 1) -> str:
    """A document's id: its source path and the digest of its bytes (the ``occurrence``-th copy of them in
    the file, so two equal lines of one file are two documents, the second an exact duplicate)."""
    return document_id(path, digest.hex() if occurrence == 1 else f"{digest.hex()}#{occurrence}")


def read_documents(path: str, data: bytes) -> Iterator[Record]:
    """All the documents in one file's bytes, or the errors that stopped them."""
    name = inner_name(path)
    if name.endswith(JSONL_SUFFIXES):
        yield from read_jsonl(path, io.BytesIO(data))
        return
    try:
        data = decompress(path, data, MAX_DOCUMENT_BYTES)
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


def read_jsonl(path: str, stream: BinaryIO) -> Iterator[Record]:
    """One document (or error) per line of a JSONL stream, read as it comes: a line over
    ``MAX_DOCUMENT_BYTES`` is an error and ends the file, whatever the file's size."""
    number, wide, seen = 0, [], collections.Counter()
    try:
        for number, line in enumerate(stream_lines(path, stream, wide=wide), start=1):
            if not line.strip():
                continue
            digest = content_digest(line)
            seen[digest] += 1  # 16 bytes a line, not the line
            try:
                yield jsonl_document(path, number, line, wide[0] if wide else None, content_id(path, digest, seen[digest]))
            except ValueError as e:
                yield ErrorRecord.of(f"{path}:{number}", READ, str(e), line)
    except ValueError as e:
        yield ErrorRecord.of(f"{path}:{number + 1}", READ, str(e))


def stream_lines(path: str, stream: BinaryIO, chunk: int = 1 << 20, wide: Optional[list] = None) -> Iterator[bytes]:
    """The lines of a (gzipped) byte stream as UTF-8, decompressed and decoded a chunk at a time;
    ``ValueError`` for binary content, a line over ``MAX_DOCUMENT_BYTES``, a corrupt gzip stream, or
    nothing at all. A UTF-16/32 stream's encoding is appended to ``wide``."""
    pending, seen_any = b"", False
    for piece in as_utf8(decompressed(path, stream, chunk), wide if wide is not None else []):
        if not seen_any and piece.strip() and looks_binary(piece):
            raise ValueError("binary content (NUL or control bytes), not a text or HTML document")
        seen_any |= bool(piece.strip())
        *lines, pending = (pending + piece).split(b"\n")
        yield from lines
        if len(pending) > MAX_DOCUMENT_BYTES:
            raise ValueError(
                f"a line longer than {MAX_DOCUMENT_BYTES} bytes: not one news document; the rest of the file is not read"
            )
    if not seen_any:
        raise ValueError("empty file")
    if pending:
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


def decompressed(path: str, stream: BinaryIO, chunk: int) -> Iterator[bytes]:
    """A stream's bytes, gunzipped when the path ends in ``.gz``, at most ``chunk`` bytes at a time: one
    compressed chunk of zeros cannot fill memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if path.lower().endswith(".gz") else None
    while compressed := stream.read(chunk):
        if inflater is None:
            yield compressed
            continue
        try:
            yield inflater.decompress(compressed, chunk)
            while inflater.unconsumed_tail:
                yield inflater.decompress(inflater.unconsumed_tail, chunk)
        except zlib.error as e:
            raise ValueError(f"corrupt or truncated gzip data: {e}") from None
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
    if not isinstance(record, dict):
        raise ValueError(f"JSON line is a {type(record).__name__}, expected an object")

    def field(name: str) -> str | None:
        value = record.get(name)
        return None if value is None else str(value)

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


class _ReadFiles(beam.DoFn):
    """Each file -> an ``InputFile`` (to remember it) and its documents or errors; or, when an earlier run
    ingested the same path with the same content, a ``SkippedFile``."""

    def __init__(self, files_dir: Optional[str]):
        self.files_dir = files_dir

    def setup(self):
        self.ingested = frozenset(read_key_sets(self.files_dir)) if self.files_dir else frozenset()

    def process(self, readable: fileio.ReadableFile) -> Iterable:
        path = readable.metadata.path
        try:
            # Raw bytes: we decompress ourselves, so that a corrupt .gz is an error row, not a crash.
            with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as stream:
                digest = file_digest(stream)
            read = InputFile(path, digest)
            if read.key in self.ingested:
                yield SkippedFile(path)
                return
            yield read
            with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as stream:
                if inner_name(path).endswith(JSONL_SUFFIXES):
                    yield from read_jsonl(path, stream)
                    return
                data = stream.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as e:
            yield ErrorRecord.of(path, READ, f"cannot read file: {e}")
            return
        yield from read_documents(path, data)


class ReadDocuments(beam.PTransform):
    """Match file globs and read every document in them; outputs ``.documents``, ``.errors``, ``.files``
    (``InputFile``s read, to remember) and ``.skipped`` (files ingested by an earlier run). ``files_dir``:
    where earlier runs' ``InputFile`` keys are, or None to read every file."""

    def __init__(self, patterns: list[str], files_dir: Optional[str] = None):
        super().__init__()
        self.patterns, self.files_dir = list(patterns), files_dir

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self.patterns)
            | "Match" >> fileio.MatchAll()
            | "Paths" >> beam.Map(lambda metadata: metadata.path)
            | "OncePerFile" >> beam.Distinct()  # overlapping globs must not read a file twice
            | "Open" >> fileio.ReadMatches()
            | "Documents" >> beam.ParDo(_ReadFiles(self.files_dir))
            | "ByType" >> SplitByType(READ, documents=RawDocument, errors=ErrorRecord, files=InputFile, skipped=SkippedFile)
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
