"""Decompression, owned once: a ``.gz`` input (one gzip member or many, as WARC writes them) inflated as a
stream, a bounded piece at a time, whatever reads it next (a whole document, JSONL lines, WARC records).

A gzip bomb cannot fill memory: no piece is larger than ``chunk`` and a cap cuts the stream. A corrupt
member need not end the file: with ``resync``, reading goes on at the next gzip member header found after
the damage (a WARC's records are one member each), and the damage is reported to ``on_damage``.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, Optional

from transforms.settings import show_size

GZIP_MAGIC = b"\x1f\x8b\x08"


class FileCut(ValueError):
    """A file is read no further: a cap of ``ReadSettings`` was reached."""


def is_gzip(path: str) -> bool:
    return path.lower().endswith(".gz")


def inner_name(path: str) -> str:
    """The path, lower case, without its ``.gz``: the name its format is known by."""
    lower = path.lower()
    return lower[:-3] if lower.endswith(".gz") else lower


def decompressed(
    path: str,
    stream: BinaryIO,
    chunk: int = 1 << 20,
    limit: Optional[int] = None,
    on_damage: Optional[Callable[[int, str], None]] = None,
    on_member: Optional[Callable[[int, int], None]] = None,
) -> Iterator[bytes]:
    """A stream's bytes, gunzipped when the path ends in ``.gz``, at most ``chunk`` bytes at a time. Past
    ``limit`` bytes: ``FileCut``, after the bytes up to it. A corrupt or truncated gzip stream raises
    ``ValueError``, unless ``on_damage`` is given: then it is told (compressed offset, reason) and reading
    goes on at the next member header, if any. ``on_member`` is told where each gzip member starts:
    (compressed offset, decompressed offset)."""
    total = 0

    def capped(piece: bytes) -> bytes:
        nonlocal total
        total += len(piece)
        return piece if limit is None or total <= limit else piece[: len(piece) - (total - limit)]

    def over() -> bool:
        return limit is not None and total > limit

    cut = FileCut(f"{limit} decompressed bytes ({show_size(limit or 0)}, --max_file_bytes)")
    if not is_gzip(path):
        while piece := stream.read(chunk):
            yield capped(piece)
            if over():
                raise cut
        return
    for piece in _members(stream, chunk, on_damage, on_member):
        yield capped(piece)
        if over():
            raise cut


def _members(
    stream: BinaryIO,
    chunk: int,
    on_damage: Optional[Callable[[int, str], None]],
    on_member: Optional[Callable[[int, int], None]] = None,
) -> Iterator[bytes]:
    """Inflate member after member; on damage, report it and go on at the next member header."""
    inflater, offset, pending, begun, start = _inflater(), 0, b"", False, 0  # start: the member's index in data
    member_at, out_total = 0, 0  # the compressed offset where the current member began; bytes inflated

    def damaged(reason: str) -> None:
        if on_damage is None:
            raise ValueError(f"corrupt or truncated gzip data: {reason}")
        on_damage(member_at, f"corrupt or truncated gzip member: {reason}")

    while True:
        data, pending = pending or stream.read(chunk), b""
        if not data:
            if begun and not inflater.eof:
                damaged("the stream ends early")
            return
        try:
            if not begun and on_member is not None:
                on_member(member_at, out_total)
            if out := inflater.decompress(data, chunk):
                out_total += len(out)
                yield out
            begun = True
            while inflater.unconsumed_tail and not inflater.eof:  # at a member's end the tail stays set
                out = inflater.decompress(inflater.unconsumed_tail, chunk)
                out_total += len(out)
                yield out
        except zlib.error as e:
            damaged(str(e))
            pending = _next_member(stream, data[start + 1 :], chunk)
            offset += len(data) - len(pending)  # where reading resumes, if the search stayed in this chunk
            inflater, begun, start, member_at = _inflater(), False, 0, offset
            continue
        if not inflater.eof:
            offset, start = offset + len(data), -1
            continue
        rest = inflater.unused_data
        offset += len(data) - len(rest)
        while len(rest) < len(GZIP_MAGIC) and (more := stream.read(chunk)):  # enough to tell a header
            rest += more
        inflater, begun, start, member_at = _inflater(), False, 0, offset
        if rest.startswith(GZIP_MAGIC[:2]):
            pending = rest
        elif not rest.strip(b"\x00"):  # nothing, or padding: read on
            continue
        elif on_damage is None:  # as gzip does: trailing garbage ignored
            return
        else:
            damaged("bytes after a member that start no other member")
            pending = _next_member(stream, rest, chunk)


def _inflater():
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _next_member(stream: BinaryIO, data: bytes, chunk: int) -> bytes:
    """The bytes from the next gzip member header on (``data`` first, then the stream), or b"" at the end."""
    while True:
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return data[found:]
        more = stream.read(chunk)
        if not more:
            return b""
        data = data[-(len(GZIP_MAGIC) - 1) :] + more


def decompress(path: str, data: bytes, limit: Optional[int]) -> bytes:
    """Gunzip ``.gz`` data whole, refusing more than ``limit`` bytes: a gzip bomb must not eat the worker."""
    try:
        return b"".join(decompressed(path, io.BytesIO(data), limit=limit))
    except FileCut:
        raise ValueError(f"larger than {limit} bytes: not one news document") from None


class StreamReader(io.RawIOBase):
    """Pieces of bytes (an iterator) as a readable binary file, for a library that wants one (warcio)."""

    def __init__(self, pieces: Iterator[bytes]):
        self.pieces, self.rest = pieces, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.rest:
            self.rest = next(self.pieces, None)
            if self.rest is None:
                self.rest = b""
                return 0
        n = min(len(buffer), len(self.rest))
        buffer[:n] = self.rest[:n]
        self.rest = self.rest[n:]
        return n
