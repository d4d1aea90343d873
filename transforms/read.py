"""Read: file globs -> ``RawDocument`` records, one per document, keeping each document's input path.

A ``.txt`` file is one plain-text page dump, an ``.html``/``.htm`` file one page, a ``.jsonl`` file one
document per line (fields ``url``, ``title``, ``text`` or ``html``, ``published``, ``source``, all optional),
a feed file (``.rss``, ``.atom``, ``.xml``, ``.rdf``) one document per entry, and ``.gz`` wraps any of
these. What cannot be read becomes an ``ErrorRecord`` with stage ``read``.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Iterable, Iterator, Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from transforms.schema import READ, ErrorRecord, RawDocument, document_id
from transforms.stage import SplitByType

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".rdf", ".feed")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a news page is kilobytes; anything this large is not one

Record = Union[RawDocument, ErrorRecord]


def inner_name(path: str) -> str:
    lower = path.lower()
    return lower[:-3] if lower.endswith(".gz") else lower


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first kilobytes: no text format we read has them."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * 0.05


def decode_text(data: bytes) -> str:
    """Plain-text dumps must be UTF-8 (a BOM is allowed); a wrong guess would corrupt every entity."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid UTF-8: {e.reason} at byte {e.start}") from None


def decode_html(data: bytes) -> str:
    """HTML declares its charset; honour it, else try UTF-8, else the web's usual default."""
    match = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", data[:4096], re.I)
    encodings = ([match.group(1).decode("ascii")] if match else []) + ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise ValueError("undecodable bytes: not valid in the declared charset, UTF-8 or cp1252")


def decompress(path: str, data: bytes, limit: int | None) -> bytes:
    """Gunzip ``.gz`` data, refusing more than ``limit`` bytes: a gzip bomb must not eat the worker."""
    if path.lower().endswith(".gz"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, limit + 1 if limit else 0)
        except zlib.error as e:
            raise ValueError(f"corrupt or truncated gzip data: {e}") from None
        if not inflater.eof and not (limit and len(data) > limit):
            raise ValueError("corrupt or truncated gzip data: the stream ends early")
    if limit and len(data) > limit:
        raise ValueError(f"larger than {limit} bytes: not one news document")
    return data


def read_documents(path: str, data: bytes) -> Iterator[Record]:
    """All the documents in one file's bytes, or the errors that stopped them."""
    name = inner_name(path)
    try:
        data = decompress(path, data, None if name.endswith(JSONL_SUFFIXES) else MAX_DOCUMENT_BYTES)
        if not data.strip():
            raise ValueError("empty file")
        if looks_binary(data):
            raise ValueError("binary content (NUL or control bytes), not a text or HTML document")
        if name.endswith(JSONL_SUFFIXES):
            yield from read_jsonl(path, data)
        elif name.endswith(FEED_SUFFIXES):
            from transforms.feeds import feed_records  # feeds reads pages with this module's decoder

            yield from feed_records(path, data)[0]
        elif name.endswith(HTML_SUFFIXES):
            yield RawDocument(document_id(path), path, "html", decode_html(data))
        elif name.endswith(TEXT_SUFFIXES):
            yield RawDocument(document_id(path), path, "text", decode_text(data))
        else:
            raise ValueError(
                f"unsupported file type {name.rsplit('/', 1)[-1]!r}: expected "
                ".txt, .html, .htm, .jsonl, a feed (.rss, .atom, .xml, .rdf) or one of these .gz"
            )
    except ValueError as e:
        yield ErrorRecord.of(path, READ, str(e), data)


def read_jsonl(path: str, data: bytes) -> Iterator[Record]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield jsonl_document(path, number, line)
        except ValueError as e:
            yield ErrorRecord.of(where, READ, str(e), line)


def jsonl_document(path: str, number: int, line: bytes) -> RawDocument:
    try:
        record = json.loads(decode_text(line))
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
        doc_id=document_id(path, number),
        source_path=f"{path}:{number}",
        format="html" if html else "text",
        body=html or text,
        url=field("url"),
        title=field("title"),
        published=field("published"),
        source=field("source"),
    )


class _ReadFileDocuments(beam.DoFn):
    def __init__(self):
        self.documents = beam.metrics.Metrics.counter("pipeline", "documents_read")

    def process(self, readable: fileio.ReadableFile) -> Iterable:
        path = readable.metadata.path
        try:
            # Read raw bytes: we decompress ourselves so that a corrupt .gz is an error row, not a crash.
            data = readable.open(compression_type=CompressionTypes.UNCOMPRESSED).read()
        except OSError as e:
            records: Iterable[Record] = [ErrorRecord.of(path, READ, f"cannot read file: {e}")]
        else:
            records = read_documents(path, data)
        for record in records:
            self.documents.inc()
            yield record


class ReadDocuments(beam.PTransform):
    """Match file globs and read every document in them; outputs ``.documents`` and ``.errors``."""

    def __init__(self, patterns: list[str]):
        super().__init__()
        self.patterns = list(patterns)

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self.patterns)
            | "Match" >> fileio.MatchAll()
            | "Paths" >> beam.Map(lambda metadata: metadata.path)
            | "OncePerFile" >> beam.Distinct()  # overlapping globs must not read a file twice
            | "Open" >> fileio.ReadMatches()
            | "Documents" >> beam.ParDo(_ReadFileDocuments())
            | "ByType" >> SplitByType(documents=RawDocument, errors=ErrorRecord)
        )
