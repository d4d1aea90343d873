"""Read: file globs -> ``RawDocument`` records, one per document, keeping each document's input path.

A ``.txt`` file is one plain-text page dump, an ``.html``/``.htm`` file one page, a ``.jsonl`` file one
document per line (fields ``url``, ``title``, ``text`` or ``html``, ``published``, ``source``, all optional),
a feed file (``.rss``, ``.atom``, ``.xml``, ``.rdf``) one document per entry, and ``.gz`` wraps any of
these. What cannot be read becomes an ``ErrorRecord`` with stage ``read``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Union

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from transforms.decode import MAX_DOCUMENT_BYTES, decode_html, decode_text, decompress, looks_binary
from transforms.feeds.formats import feed_records
from transforms.schema import READ, ErrorRecord, RawDocument, document_id
from transforms.stage import SplitByType

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".rdf", ".feed")

Record = Union[RawDocument, ErrorRecord]


def inner_name(path: str) -> str:
    lower = path.lower()
    return lower[:-3] if lower.endswith(".gz") else lower


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


def file_documents(readable: fileio.ReadableFile) -> Iterable[Record]:
    path = readable.metadata.path
    try:
        # Read raw bytes: we decompress ourselves so that a corrupt .gz is an error row, not a crash.
        data = readable.open(compression_type=CompressionTypes.UNCOMPRESSED).read()
    except OSError as e:
        return [ErrorRecord.of(path, READ, f"cannot read file: {e}")]
    return read_documents(path, data)


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
            | "Documents" >> beam.FlatMap(file_documents)
            | "ByType" >> SplitByType(READ, documents=RawDocument, errors=ErrorRecord)
        )
