"""WARC and ARC archives (``.warc``, ``.arc``, and their ``.gz``): crawler output, Common Crawl's CC-NEWS.

Every ``response`` record (and ``resource`` record of a web URL) whose payload is HTML or plain text is one
document: ``url`` = its target URI, decoded with its HTTP ``Content-Type`` charset, ``crawled_at`` = its
WARC-Date, ``record_id`` = its WARC-Record-ID. Every other record is a ``Skip`` counted by kind: the
record types that hold no page (``warc_request``, ``warc_warcinfo``, ``warc_metadata``, ``warc_revisit``,
``arc_header``...), ``not_text`` payloads (images, PDFs, JSON), ``http_3xx``/``http_4xx``/``http_5xx``
responses, ``empty`` payloads. A record that cannot be read (truncated, a bad Content-Length, a payload
over ``--max_document_bytes``) is one error row named ``FILE:OFFSET``; damage between records (a corrupt
gzip member, bytes that start no record) is an error row too, and reading goes on at the next record found.

warcio parses the records (docs/formats.md: chosen over FastWARC, which reads no ARC and stops at a
truncated record), but never sees gzip: ``transforms.compression`` inflates the file as one stream, member
by member, so a WARC gzipped whole, or with members that do not match its records, reads like any other
(warcio alone stops at both), and a corrupt member costs only the records in it. The file is read as a
stream, a record at a time: memory stays flat in the file's size (bench/warc_bench.py). A record is named
``FILE:OFFSET``: the offset of its gzip member in the file (as Common Crawl's index gives it), or, in a file
not gzipped or gzipped whole, of its header in the decompressed stream.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO, Optional

from warcio.archiveiterator import ArchiveIterator

from transforms.compression import decompressed
from transforms.decode import decode
from transforms.formats.base import DEFAULT_LIMITS, Format, ReadSettings, Record, Skip, content_digest, content_id
from transforms.schema import READ, Body, ErrorRecord, RawDocument
from transforms.settings import show_size

DOCUMENT_RECORDS = ("response", "resource")
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)
WEB_SCHEMES = ("http://", "https://")
RECORD_START = re.compile(rb"(?m)^WARC/1\.[01]\r?\n")
SNIFF_BYTES = 512
CHUNK = 1 << 16


class _Quiet(ArchiveIterator):
    """warcio writes a warning to stderr for a record not followed by its blank lines; we make it an error
    row instead (``err_count``)."""

    INC_RECORD = ""


class _Stream:
    """Decompressed pieces as the file object warcio reads, knowing how many bytes it has handed out. Where
    a damaged gzip member was skipped (``damage`` grew), it ends: the record cut there is read as truncated,
    and ``resume`` holds the bytes that follow, for a new iterator."""

    def __init__(self, pieces: Iterator[bytes], damage: list, position: int = 0):
        self.pieces, self.damage, self.rest, self.position = pieces, damage, b"", position
        self.resume: Optional[bytes] = None

    def tell(self) -> int:
        return self.position

    def read(self, size: int = -1) -> bytes:
        while not self.rest:
            if self.resume is not None:
                return b""
            before = len(self.damage)
            piece = next(self.pieces, None)
            if piece is None:
                return b""
            if len(self.damage) > before:
                self.resume = piece
                return b""
            self.rest = piece
        size = len(self.rest) if size is None or size < 0 else size
        out, self.rest = self.rest[:size], self.rest[size:]
        self.position += len(out)
        return out

    def after_damage(self) -> Optional[_Stream]:
        """The stream from the bytes after a skipped member on, or None when it ended otherwise."""
        if self.resume is None:
            return None
        return _Stream(itertools.chain([self.resume], self.pieces), self.damage, self.position)


def read_warc(path: str, stream: BinaryIO, limits: ReadSettings = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every record of a WARC or ARC stream as a document, a counted skip or an error row, in order."""
    damage: list[ErrorRecord] = []
    members = _Members()
    pieces = decompressed(
        path, stream, CHUNK, on_damage=lambda at, why: damage.append(_error(path, at, why)), on_member=members.started
    )
    source, seen, errors = _Stream(pieces, damage), collections.Counter(), 0
    while source is not None:
        iterator = _Quiet(source)
        try:
            for outcome in _records(path, iterator, limits, seen, members):
                yield from damage
                errors += len(damage) + isinstance(outcome, ErrorRecord)
                damage.clear()
                if errors > limits.max_file_errors:
                    yield _error(path, source.tell(), f"file cut at {limits.max_file_errors} bad records (--max_file_errors)")
                    return
                yield outcome
            source = source.after_damage()
        except Exception as e:  # warcio found no record where one should start: go on at the next one
            at = source.tell() - (iterator.reader.rem_length() if iterator.reader else 0)
            yield from damage
            damage.clear()
            reason = f"unreadable record: {_reason(e)}; reading goes on at the next record"
            yield _error(path, members.file_offset(iterator.offset), reason)
            errors += 1
            leftover = iterator.reader.buff.read() if iterator.reader and iterator.reader.buff else b""
            source = source.after_damage() or _next_record(leftover, source, at)
        yield from damage
        damage.clear()


class _Members:
    """Where the gzip members start (decompressed offset -> compressed offset), the recent ones only: a
    record that starts a member is named by the member's offset in the file, which is what Common Crawl's
    index gives and what a range request fetches."""

    def __init__(self):
        self.starts: collections.deque = collections.deque()

    def started(self, compressed: int, decompressed: int) -> None:
        self.starts.append((decompressed, compressed))

    def file_offset(self, decompressed: int) -> int:
        """The offset in the file of a record that starts a member; else its decompressed offset (a WARC
        gzipped whole, or not gzipped)."""
        while len(self.starts) > 1 and self.starts[1][0] <= decompressed:
            self.starts.popleft()
        if self.starts and self.starts[0][0] == decompressed:
            return self.starts[0][1]
        return decompressed


def _records(
    path: str, iterator: ArchiveIterator, limits: ReadSettings, seen: collections.Counter, members: _Members
) -> Iterator[Record]:
    for record in iterator:
        try:
            outcome = _outcome(path, record, limits, seen)
        except ValueError as e:
            outcome = e
        except Exception as e:  # a payload warcio cannot decode (chunks, Content-Encoding): this record's error
            outcome = ValueError(f"unreadable payload: {_reason(e)}")
        offset = iterator.get_record_offset()  # reads to the record's end: its length is checked now
        misplaced, iterator.err_count = iterator.err_count, 0
        where = f"{path}:{members.file_offset(offset)}"
        if isinstance(outcome, ValueError):
            yield ErrorRecord.of(where, READ, str(outcome))
        elif getattr(record.raw_stream, "limit", 0) > 0:
            yield ErrorRecord.of(where, READ, f"truncated record: {record.raw_stream.limit} bytes of its Content-Length missing")
        elif misplaced:
            yield ErrorRecord.of(where, READ, "record not followed by a blank line: its Content-Length is wrong")
        elif isinstance(outcome, Skip):
            yield Skip(outcome.kind, where)
        else:
            yield dataclasses.replace(outcome, source_path=where)


def _outcome(path: str, record, limits: ReadSettings, seen: collections.Counter) -> RawDocument | Skip:
    """What one record is: a document (not yet placed: its id and path come after its end is checked),
    a skip, or ``ValueError``."""
    headers = record.rec_headers
    kind = record.rec_type
    uri = (headers.get_header("WARC-Target-URI") or headers.get_header("uri") or "").strip("<>")
    if kind not in DOCUMENT_RECORDS or (kind == "resource" and not uri.startswith(WEB_SCHEMES)):
        return Skip(kind if record.format == "arc" and kind == "arc_header" else f"warc_{kind}")
    length = headers.get_header("Content-Length" if record.format != "arc" else "length")
    if length is None or not length.strip().isdigit():
        raise ValueError(f"bad record length {length!r}: not a number of bytes")
    http = record.http_headers
    status = http.get_statuscode() if http is not None and kind == "response" else None
    if status and status.isdigit() and not status.startswith("2"):
        return Skip(f"http_{status[0]}xx")
    content_type = (http.get_header("Content-Type") if http is not None else None) or record.content_type
    payload = record.content_stream().read(limits.max_document_bytes + 1)
    if len(payload) > limits.max_document_bytes:
        raise ValueError(
            f"payload larger than {limits.max_document_bytes} bytes ({show_size(limits.max_document_bytes)}, "
            "--max_document_bytes): not one news page"
        )
    if not payload.strip():
        return Skip("empty")
    body = _body_kind(content_type, payload)
    if body is None:
        return Skip("not_text")
    decoded = decode(payload, "html" if body is Body.HTML else None, content_type)
    digest = content_digest(payload)
    seen[digest] += 1
    return RawDocument(
        doc_id=content_id(path, digest, seen[digest]),
        source_path=path,
        format=body,
        body=decoded.text,
        url=uri or None,
        encoding=decoded.encoding,
        crawled_at=_date(headers.get_header("WARC-Date") or headers.get_header("archive-date")),
        record_id=headers.get_header("WARC-Record-ID"),
    )


def _body_kind(content_type: Optional[str], payload: bytes) -> Optional[Body]:
    """HTML or plain text by the Content-Type, or by the payload's head when there is none; else None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in HTML_TYPES:
        return Body.HTML
    if media in TEXT_TYPES:
        return Body.TEXT
    if not media:
        head = payload[:SNIFF_BYTES].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            return Body.HTML
    return None


def _date(value: Optional[str]) -> Optional[dt.datetime]:
    """A WARC-Date (ISO 8601) or an ARC date (14 digits), as UTC; None when it is neither."""
    if not value:
        return None
    try:
        if value.isdigit() and len(value) == 14:
            return dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _error(path: str, offset: int, reason: str) -> ErrorRecord:
    return ErrorRecord.of(f"{path}:{offset}", READ, reason)


def _reason(e: Exception) -> str:
    first = " ".join(str(e).split())[:160]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def _next_record(leftover: bytes, source: _Stream, at: int) -> Optional[_Stream]:
    """A stream from the next WARC record header after ``at`` (``leftover`` first, then the rest of
    ``source``), or None when there is none."""
    data, keep = leftover, 16
    while True:
        found = RECORD_START.search(data)
        if found:
            rest = data[found.start() :]
            return _Stream(_chain(rest, source), source.damage, at + found.start())
        more = source.read(CHUNK)
        if not more:
            return None
        at += max(len(data) - keep, 0)
        data = data[-keep:] + more


def _chain(first: bytes, source: _Stream) -> Iterator[bytes]:
    yield first
    while piece := source.read(CHUNK):
        yield piece


FORMAT = Format(
    "warc",
    "WARC and ARC archives",
    (".warc", ".arc"),
    read_warc,
    signatures=(b"WARC/1.", b"filedesc://"),
)
