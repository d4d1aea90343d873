"""Bytes -> text: what a file or a response is, and how its bytes decode.

Kept apart from reading and from feeds, which both use it, so that neither imports the other.
"""

from __future__ import annotations

import re
import zlib

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # a news page is kilobytes; anything this large is not one


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
