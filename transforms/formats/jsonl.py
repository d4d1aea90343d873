"""JSONL: one document per line (fields ``url``, ``title``, ``text`` or ``html``, ``published``, ``source``,
all optional; ``.jsonl``, ``.ndjson``).

Read as a stream of lines, each line capped (a longer line is one error row; reading goes on after it); a
UTF-16/32 file is decoded on the way, a chunk at a time. A tiny file must not make unbounded work, so a
file is cut, with one error row saying where and by which cap, after ``--max_file_lines`` lines,
``--max_file_bytes`` decompressed bytes or ``--max_file_errors`` bad lines. A line's id is the digest of
its bytes, with how many times that line came before it in the file, never its line number: a file that
grows keeps its unchanged lines' ids.
"""

from __future__ import annotations

import codecs
import collections
import json
from collections.abc import Iterator
from typing import BinaryIO, Optional

from transforms.compression import FileCut, decompressed
from transforms.decode import bom_encoding, decode_text, looks_binary, wide_encoding
from transforms.feeds.formats import type_name
from transforms.formats.base import DEFAULT_LIMITS, Format, ReadSettings, Record, content_digest, content_id
from transforms.schema import READ, Body, ErrorRecord, RawDocument
from transforms.settings import show_size


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
        format=Body.HTML if html else Body.TEXT,
        body=html or text,
        url=field("url"),
        title=field("title"),
        published=field("published"),
        source=field("source"),
        encoding=encoding or decoded.encoding,
    )


FORMAT = Format("jsonl", "JSON lines", (".jsonl", ".ndjson"), read_jsonl)
