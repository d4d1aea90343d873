"""Input formats, one module each, behind one interface (``base.Format``): the file names and leading
bytes a format claims, and its reader (a file's raw stream in; documents, error rows and counted skips
out). ``FORMATS`` is the registry: reading dispatches on it (``format_of``), and the ``--input`` help and
the error for a file no format claims are written from it (``described``), so they cannot drift.

Adding a format is adding a module with a ``FORMAT`` and naming it in ``FORMATS`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import Optional

from transforms.compression import inner_name
from transforms.formats import feed, html, jsonl, text, warc
from transforms.formats.base import DEFAULT_LIMITS, Format, ReadSettings, Record, Skip, content_digest, content_id

FORMATS: tuple[Format, ...] = (text.FORMAT, html.FORMAT, jsonl.FORMAT, feed.FORMAT, warc.FORMAT)
SNIFF_BYTES = 64

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "Format",
    "ReadSettings",
    "Record",
    "Skip",
    "content_digest",
    "content_id",
    "described",
    "format_of",
]


def format_of(path: str, head: bytes = b"") -> Optional[Format]:
    """The format that claims a file: by its name (less ``.gz``), else by its decompressed first bytes."""
    name = inner_name(path)
    for candidate in FORMATS:
        if candidate.claims(name):
            return candidate
    start = head[:SNIFF_BYTES].lstrip().lower()
    for candidate in FORMATS:
        if any(start.startswith(signature.lower()) for signature in candidate.signatures):
            return candidate
    return None


def described() -> str:
    """Every format with its suffixes, for ``--input``'s help and the unsupported-file error."""
    return "; ".join(f"{f.label} ({', '.join(f.suffixes)})" for f in FORMATS) + "; and the .gz of any"
