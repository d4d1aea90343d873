"""What every input format shares: the interface a format module fills in (``Format``), the caps of one
file's work (``ReadSettings``), a document's id, and ``Skip``: an input record that is no document (a WARC
request, an image), counted by kind and never silently dropped.

A format's ``read(path, stream, limits)`` takes the file's raw byte stream (still compressed: it decides
how much to read, and ``transforms.compression`` inflates it) and yields ``RawDocument``s, ``ErrorRecord``s
(stage ``read``) and ``Skip``s. It must not read the file whole unless it is one document
(``whole_document``: at most ``--max_document_bytes``), so that memory stays flat in the file's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, Union

from transforms.compression import decompress
from transforms.decode import MAX_DOCUMENT_BYTES, looks_binary
from transforms.schema import READ, ErrorRecord, RawDocument, document_id
from transforms.settings import byte_size, option
from transforms.stage import Skip

Record = Union[RawDocument, ErrorRecord, Skip]
Reader = Callable[[str, BinaryIO, "ReadSettings"], Iterator[Record]]


@dataclasses.dataclass(frozen=True)
class Format:
    """One input format: the file names (suffixes, before any ``.gz``) and leading bytes it claims, and its
    reader. ``label`` names it in ``--input``'s help and in the error for a file no format claims."""

    name: str
    label: str
    suffixes: tuple[str, ...]
    read: Reader
    signatures: tuple[bytes, ...] = ()  # the decompressed file starts with one of these

    def claims(self, inner_name: str) -> bool:
        return inner_name.endswith(self.suffixes)


@dataclasses.dataclass(frozen=True)
class ReadSettings:
    """Reading files: caps that keep one file's work bounded, whatever it holds."""

    max_document_bytes: int = option(
        MAX_DOCUMENT_BYTES,
        "largest document, decompressed: a .txt/.html/feed file, one JSONL line or one WARC record's payload "
        "(a longer line or record is one error row and reading goes on after it)",
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
        "JSONL and WARC: bad lines or records (malformed, no text, too long) in one file before the rest is cut, "
        "with one error row saying so: a file of junk is not a million error rows",
        minimum=1,
        maximum=10**9,
    )


DEFAULT_LIMITS = ReadSettings()


def content_digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def content_id(path: str, digest: bytes, occurrence: int = 1) -> str:
    """A document's id: its source path and the digest of its bytes (the ``occurrence``-th copy of them in
    the file, so two equal lines of one file are two documents, the second an exact duplicate)."""
    return document_id(path, digest.hex() if occurrence == 1 else f"{digest.hex()}#{occurrence}")


def whole_document(
    path: str, stream: BinaryIO, limits: ReadSettings, document: Callable[[bytes], Iterator[Record]]
) -> Iterator[Record]:
    """A one-document file: its bytes read (at most ``--max_document_bytes``, decompressed), refused when
    empty or binary, then handed to ``document``; what fails is one error row with the bytes' start."""
    data = stream.read(limits.max_document_bytes + 1)
    try:
        data = decompress(path, data, limits.max_document_bytes)
        if not data.strip():
            raise ValueError("empty file")
        if looks_binary(data):
            raise ValueError("binary content (NUL or control bytes), not a text or HTML document")
        yield from document(data)
    except ValueError as e:
        yield ErrorRecord.of(path, READ, str(e), data)
