"""Feed files: RSS, Atom, RDF or JSON Feed, one document per entry (``transforms.feeds.formats``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from transforms.feeds.formats import feed_records
from transforms.formats.base import Format, ReadSettings, Record, whole_document


def read(path: str, stream: BinaryIO, limits: ReadSettings) -> Iterator[Record]:
    return whole_document(path, stream, limits, lambda data: iter(feed_records(path, data)[0]))


FORMAT = Format("feed", "feed files", (".rss", ".atom", ".xml", ".rdf", ".feed"), read, signatures=(b"<rss", b"<feed"))
