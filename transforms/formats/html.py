"""HTML: one file, one page (``.html``, ``.htm``, ``.xhtml``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from transforms.decode import decode_html
from transforms.formats.base import Format, ReadSettings, Record, content_digest, content_id, whole_document
from transforms.schema import Body, RawDocument


def read(path: str, stream: BinaryIO, limits: ReadSettings) -> Iterator[Record]:
    def document(data: bytes) -> Iterator[Record]:
        page = decode_html(data)
        yield RawDocument(content_id(path, content_digest(data)), path, Body.HTML, page.text, encoding=page.encoding)

    return whole_document(path, stream, limits, document)


FORMAT = Format("html", "HTML pages", (".html", ".htm", ".xhtml"), read, signatures=(b"<!doctype html", b"<html"))
