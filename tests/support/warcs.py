"""WARC fixtures, built with warcio (the library the reader uses) from pages the repository has: a crawl's
usual records (warcinfo, request, response, metadata, revisit), payloads that are no page (an image, JSON),
a 404, and each kind of damage a real archive shows (a truncated file, a wrong Content-Length, bad HTTP
chunking, a corrupt gzip member, a file gzipped whole). ``Archive.expected`` says what each record must
become, so a test can check every record is accounted for."""

from __future__ import annotations

import dataclasses
import gzip
import html
import io
from collections import Counter
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def page(title: str, text: str, charset: str = "utf-8", meta: bool = True) -> bytes:
    """An HTML page of the text's paragraphs, encoded in ``charset`` (declared in a <meta> when ``meta``)."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    head = f'<meta charset="{charset}">' if meta else ""
    document = f"<html><head>{head}<title>{html.escape(title)}</title></head><body><article><h1>{html.escape(title)}</h1>{paragraphs}</article></body></html>"
    return document.encode(charset)


def seed_pages() -> list[tuple[str, bytes]]:
    """(url, HTML) for each seed page dump: its first line the title, the rest its text."""
    pages = []
    for n, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        pages.append((f"https://news{n}.example.com/2024/01/story-{n}.html", page(title.strip(), text)))
    return pages


@dataclasses.dataclass
class Archive:
    """A WARC's bytes and what its records must become: ``documents``, ``errors``, and skips by kind."""

    data: bytes
    documents: int = 0
    errors: int = 0
    skips: Counter = dataclasses.field(default_factory=Counter)

    @property
    def records(self) -> int:
        return self.documents + self.errors + sum(self.skips.values())


class Builder:
    """Records appended one by one, each gzipped as its own member (as crawlers write them) or not."""

    def __init__(self, gzipped: bool = True):
        self.out = io.BytesIO()
        self.writer = WARCWriter(self.out, gzip=gzipped)
        self.archive = Archive(b"")
        self.date = "2024-01-15T10:00:00Z"

    def _write(self, record) -> None:
        self.writer.write_record(record)

    def warcinfo(self) -> Builder:
        self._write(self.writer.create_warcinfo_record("crawl.warc.gz", {"software": "tests/support/warcs.py"}))
        self.archive.skips["warc_warcinfo"] += 1
        return self

    def response(
        self, url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK", extra=()
    ) -> Builder:
        headers = StatusAndHeaders(status, [("Content-Type", content_type), *extra], protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": self.date}
        )
        self._write(record)
        if not status.startswith("2"):
            self.archive.skips[f"http_{status[0]}xx"] += 1
        elif content_type.split(";")[0] in ("text/html", "text/plain", "application/xhtml+xml"):
            self.archive.documents += 1
        else:
            self.archive.skips["not_text"] += 1
        return self

    def request(self, url: str) -> Builder:
        headers = StatusAndHeaders("GET / HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True)
        self._write(self.writer.create_warc_record(url, "request", http_headers=headers))
        self.archive.skips["warc_request"] += 1
        return self

    def metadata(self, url: str) -> Builder:
        record = self.writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(b"outlinks: 3\n"), warc_content_type="application/warc-fields"
        )
        self._write(record)
        self.archive.skips["warc_metadata"] += 1
        return self

    def revisit(self, url: str) -> Builder:
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = self.writer.create_revisit_record(
            url, "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", url, self.date, http_headers=headers
        )
        self._write(record)
        self.archive.skips["warc_revisit"] += 1
        return self

    def raw(self, data: bytes, documents: int = 0, errors: int = 0) -> Builder:
        """Bytes as they are (a damaged record), with what they must become."""
        self.out.write(data)
        self.archive.documents += documents
        self.archive.errors += errors
        return self

    def build(self) -> Archive:
        self.archive.data = self.out.getvalue()
        return self.archive


def crawl(gzipped: bool = True) -> Archive:
    """A crawl of the seed pages as a crawler writes it: each page's request, response and metadata, plus
    a revisit, a 404, an image, a JSON response and a cp1251 page whose charset only the HTTP header gives."""
    b = Builder(gzipped).warcinfo()
    for url, body in seed_pages():
        b.request(url).response(url, body).metadata(url)
    first = seed_pages()[0][0]
    b.revisit(first)
    b.response("https://news0.example.com/missing", page("Not found", "Nothing here."), status="404 Not Found")
    b.response("https://news0.example.com/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png")
    b.response("https://api.example.com/story.json", b'{"story": 1}', content_type="application/json")
    russian = "Новости дня\n" + "Правительство объявило о новых мерах поддержки экономики региона. " * 12
    b.response(
        "https://ru.example.com/novosti", page("Новости", russian, "cp1251", meta=False), "text/html; charset=windows-1251"
    )
    return b.build()


def one_record(url: str, body: bytes, gzipped: bool = False, **response) -> bytes:
    return Builder(gzipped).response(url, body, **response).build().data


def truncated(archive: Archive) -> Archive:
    """The file cut in the middle of its last record (which was a document): that record is one error."""
    data = archive.data + one_record("https://cut.example.com/a", seed_pages()[1][1])
    cut = data[: len(archive.data) + 900]
    return Archive(cut, archive.documents, archive.errors + 1, archive.skips)


def with_bad_length(archive: Archive) -> Archive:
    """A record whose Content-Length is 40 bytes short of its block, inserted before the archive's own
    records (uncompressed): that record is one error, and reading goes on at the next record."""
    record = one_record("https://short.example.com/a", seed_pages()[2][1])
    header, _, rest = record.partition(b"\r\n\r\n")
    lines = [
        (b"Content-Length: %d" % (int(line.split(b":")[1]) - 40)) if line.startswith(b"Content-Length") else line
        for line in header.split(b"\r\n")
    ]
    return Archive(b"\r\n".join(lines) + b"\r\n\r\n" + rest + archive.data, archive.documents, archive.errors + 1, archive.skips)


def with_bad_chunking(archive: Archive) -> Archive:
    """A response whose HTTP body says ``Transfer-Encoding: chunked`` but whose chunk sizes are wrong (warcio
    then reads it as not chunked: the page is still a document)."""
    body = b"zz\r\n" + seed_pages()[3][1] + b"\r\n0\r\n\r\n"
    record = one_record("https://chunks.example.com/a", body, extra=[("Transfer-Encoding", "chunked")])
    return Archive(record + archive.data, archive.documents + 1, archive.errors, archive.skips)


def with_corrupt_member(archive: Archive) -> Archive:
    """A gzipped archive with one page's member damaged in the middle: that member is one error row, and
    every record after it is read."""
    good = Builder(True).response("https://ok.example.com/a", seed_pages()[4][1]).build().data
    damaged = bytearray(Builder(True).response("https://bad.example.com/a", seed_pages()[0][1]).build().data)
    middle = len(damaged) // 2
    damaged[middle : middle + 16] = b"\xff" * 16
    data = good + bytes(damaged) + archive.data
    return Archive(data, archive.documents + 1, archive.errors + 1, archive.skips)


def gzipped_whole(archive: Archive) -> Archive:
    """An uncompressed archive gzipped as one member (as ``gzip crawl.warc`` makes it): read all the same."""
    return Archive(gzip.compress(archive.data), archive.documents, archive.errors, archive.skips)
