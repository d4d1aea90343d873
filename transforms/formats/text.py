"""Plain text: one file, one page dump (``.txt``, ``.text``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from transforms.decode import decode_text
from transforms.formats.base import Format, ReadSettings, Record, content_digest, content_id, whole_document
from transforms.schema import Body, RawDocument


def read(path: str, stream: BinaryIO, limits: ReadSettings) -> Iterator[Record]:
    def document(data: bytes) -> Iterator[Record]:
        text = decode_text(data)
        yield RawDocument(content_id(path, content_digest(data)), path, Body.TEXT, text.text, encoding=text.encoding)

    return whole_document(path, stream, limits, document)


FORMAT = Format("text", "plain-text page dumps", (".txt", ".text"), read)
