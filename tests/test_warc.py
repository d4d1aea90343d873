"""WARC and ARC input: every record a document, a counted skip or an error row; damage costs only the
records it touches; the file is read as a stream. Fixtures are built with warcio from the seed pages
(tests/support/warcs.py); ``../shared/eval/warc-dev`` (warcio's own test archives) when present."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pytest

from tests.support import warcs
from tests.support.cli import SHARED
from transforms.formats.warc import read_warc
from transforms.read import read_file
from transforms.schema import Body, ErrorRecord, RawDocument
from transforms.stage import Skip

WARC_DEV = SHARED / "eval" / "warc-dev"


def outcomes(path: str, data: bytes) -> tuple[list[RawDocument], list[ErrorRecord], Counter]:
    records = list(read_file(path, io.BytesIO(data)))
    docs = [r for r in records if isinstance(r, RawDocument)]
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    skips = Counter(r.kind for r in records if isinstance(r, Skip))
    assert len(docs) + len(errors) + sum(skips.values()) == len(records)
    return docs, errors, skips


def accounted(path: str, archive: warcs.Archive) -> tuple[list[RawDocument], list[ErrorRecord]]:
    docs, errors, skips = outcomes(path, archive.data)
    assert (len(docs), len(errors), skips) == (archive.documents, archive.errors, archive.skips), [e.error for e in errors]
    return docs, errors


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_every_record_of_a_crawl_is_a_document_or_a_skip_counted_by_kind(gzipped):
    archive = warcs.crawl(gzipped)
    docs, errors = accounted("/in/crawl.warc.gz" if gzipped else "/in/crawl.warc", archive)
    assert not errors and archive.skips["warc_request"] == 5 and archive.skips["not_text"] == 2
    assert archive.skips["http_4xx"] == 1 and archive.skips["warc_revisit"] == 1
    assert {d.format for d in docs} == {Body.HTML}
    first = docs[0]
    assert first.url == "https://news0.example.com/2024/01/story-0.html"
    assert first.crawled_at == dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)
    assert first.record_id.startswith("<urn:uuid:") and len({d.record_id for d in docs}) == len(docs)
    assert len({d.doc_id for d in docs}) == len(docs)
    assert all(d.source_path.startswith("/in/crawl.warc") and d.source_path.rsplit(":", 1)[1].isdigit() for d in docs)


def test_the_http_charset_decodes_a_page_that_declares_none():
    docs, _, _ = outcomes("/in/crawl.warc.gz", warcs.crawl().data)
    [russian] = [d for d in docs if d.url == "https://ru.example.com/novosti"]
    assert russian.encoding == "cp1251" and "Правительство объявило" in russian.body


def test_a_truncated_file_ends_in_one_error_row_after_every_whole_record():
    docs, errors = accounted("/in/cut.warc", warcs.truncated(warcs.crawl(gzipped=False)))
    [error] = errors
    assert "truncated record" in error.error and error.source_path.startswith("/in/cut.warc:")


def test_a_wrong_content_length_is_that_records_error_and_reading_goes_on():
    docs, errors = accounted("/in/short.warc", warcs.with_bad_length(warcs.crawl(gzipped=False)))
    assert len(errors) == 1 and errors[0].source_path == "/in/short.warc:0"
    assert "Content-Length" in errors[0].error or "unreadable record" in errors[0].error


def test_bad_http_chunking_still_gives_the_page():
    docs, errors = accounted("/in/chunks.warc", warcs.with_bad_chunking(warcs.crawl(gzipped=False)))
    assert any(d.url == "https://chunks.example.com/a" for d in docs)


def test_a_corrupt_gzip_member_is_an_error_row_and_the_members_after_it_are_read():
    archive = warcs.with_corrupt_member(warcs.crawl())
    docs, errors, skips = outcomes("/in/damaged.warc.gz", archive.data)
    assert any("corrupt or truncated gzip member" in e.error for e in errors)
    assert "https://ok.example.com/a" in {d.url for d in docs}
    assert "https://bad.example.com/a" not in {d.url for d in docs}
    everything_after = warcs.crawl()
    assert skips == everything_after.skips and len(docs) == 1 + everything_after.documents


def test_a_warc_gzipped_whole_reads_like_one_gzipped_per_record():
    docs, errors = accounted("/in/whole.warc.gz", warcs.gzipped_whole(warcs.crawl(gzipped=False)))
    assert not errors


def test_an_archive_is_found_by_its_first_bytes_when_its_name_says_nothing():
    docs, errors, skips = outcomes("/in/crawl-00001.bin", warcs.crawl().data)
    assert len(docs) == warcs.crawl().documents and not errors


def test_a_payload_over_the_document_cap_is_one_error_and_the_next_record_is_read():
    from transforms.read import ReadSettings

    big = warcs.Builder(False).response("https://big.example.com/", warcs.page("Big", "word " * 6000)).build()
    data = big.data + warcs.crawl(gzipped=False).data
    records = list(read_warc("/in/big.warc", io.BytesIO(data), ReadSettings(max_document_bytes=20_000)))
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    assert len(errors) == 1 and "payload larger than 20000 bytes" in errors[0].error
    assert sum(isinstance(r, RawDocument) for r in records) == warcs.crawl().documents


def test_a_warc_is_read_as_a_stream_a_record_at_a_time():
    """The first document comes out before the reader has pulled more than a few chunks of a big file."""

    class Counting(io.BytesIO):
        pulled = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.pulled += len(data)
            return data

    data = b"".join([warcs.crawl().data] * 200)  # ~ a few MB, gzipped per record
    stream = Counting(data)
    first = next(r for r in read_warc("/in/big.warc.gz", stream) if isinstance(r, RawDocument))
    assert first.url and Counting.pulled < 4 * (1 << 16) < len(data)


@pytest.mark.skipif(not WARC_DEV.is_dir(), reason="../shared/eval/warc-dev is not here")
@pytest.mark.parametrize("name", sorted(p.name for p in WARC_DEV.glob("*") if p.is_file()) if WARC_DEV.is_dir() else [])
def test_every_record_of_the_dev_archives_is_accounted_for(name):
    if name in ("README.md", "LICENSE"):
        pytest.skip("not an archive")
    from warcio.archiveiterator import ArchiveIterator

    path = WARC_DEV / name
    docs, errors, skips = outcomes(str(path), path.read_bytes())
    # What warcio alone finds, record by record, in the files it reads whole (no broken gzip): every one
    # is a document, an error or a skip here.
    if name not in ("example-bad.warc.gz.bad", "example-bad-non-chunked.warc.gz", "example-wrong-chunks.warc.gz"):
        with open(path, "rb") as stream:
            found = sum(1 for _ in ArchiveIterator(stream))
        assert len(docs) + len(errors) + sum(skips.values()) == found, (name, docs, errors, skips)
    html_responses = {"example.warc", "example.warc.gz", "example-iana.org-chunked.warc", "example-wget-bad-target-uri.warc.gz"}
    html_responses |= {"example.arc", "example.arc.gz", "example-bad-non-chunked.warc.gz", "example-wrong-chunks.warc.gz"}
    html_responses |= {"example-resource.warc.gz", "example-bad.warc.gz.bad"}
    if name in html_responses:
        assert len(docs) == 1 and docs[0].url.startswith("http"), (name, errors)


def test_the_formats_registry_speaks_for_help_and_errors():
    from pipelines.options import RunSettings
    from transforms.formats import FORMATS

    [error] = outcomes("/in/sheet.xlsx", b"some text")[1]
    help_text = next(f for f in __import__("dataclasses").fields(RunSettings) if f.name == "input").metadata["option"]["help"]
    for suffix in (s for f in FORMATS for s in f.suffixes):
        assert suffix in error.error and suffix in help_text, suffix


def test_every_body_has_its_parser_and_extraction_mode():
    from transforms.clean import EXTRACTED_FORMATS
    from transforms.parse import PARSERS

    assert set(PARSERS) == set(Body) and EXTRACTED_FORMATS == (Body.HTML,)


def test_the_shipped_fixture_builder_needs_no_shared_folder():
    assert Path(warcs.SEEDS).is_dir() and len(warcs.seed_pages()) == 5


def test_a_run_over_a_crawl_balances_with_its_skips_and_filters(tmp_path):
    """records = articles + duplicates + errors + counted skips, with --hosts, --languages and
    --published-after each setting some aside, in the stage that knows the fact."""
    from pipelines import run_pipeline

    archive = warcs.with_bad_length(warcs.crawl(gzipped=False))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "crawl.warc").write_bytes(archive.data)
    result = run_pipeline(
        input=[str(tmp_path / "in" / "*.warc")],
        output=str(tmp_path / "out"),
        quiet=True,
        hosts="example.com,-news4.example.com",
        languages="en",
        published_after="2000-01-01",
    )
    assert result.committed and result.exit_code == 0, result.summary
    counts, read = result.counts, result.stages["read"]
    assert counts["documents_read"] + read.get("skipped_warc_request", 0) > 0
    read_skips = sum(v for k, v in read.items() if k.startswith("skipped_"))
    assert counts["documents_read"] + read_skips == archive.records
    assert counts["articles"] + counts["duplicates"] + counts["errors"] + counts["skipped"] == archive.records
    assert read["skipped_host"] == 1  # news4: denied
    assert result.stages["clean"].get("skipped_language", 0) == 1  # the Russian page
    assert "skipped at read: warc_request" in result.summary and "ACCOUNTING MISMATCH" not in result.summary


def test_a_record_is_named_by_its_gzip_members_offset_in_the_file():
    """FILE:OFFSET is where a range request finds the record (Common Crawl's index gives the same)."""
    from warcio.archiveiterator import ArchiveIterator

    data = warcs.crawl().data
    docs, _, _ = outcomes("/in/crawl.warc.gz", data)
    for doc in docs:
        offset = int(doc.source_path.rsplit(":", 1)[1])
        record = next(iter(ArchiveIterator(io.BytesIO(data[offset:]))))
        assert record.rec_headers.get_header("WARC-Record-ID") == doc.record_id


@pytest.mark.skipif(not WARC_DEV.is_dir(), reason="../shared/eval/warc-dev is not here")
def test_a_run_over_the_dev_archives_balances_and_commits(tmp_path):
    """The 64 records of warcio's test archives: each an article, a duplicate, an error or a counted skip."""
    from pipelines import run_pipeline

    result = run_pipeline(input=[str(WARC_DEV / "*.warc*"), str(WARC_DEV / "*.arc*")], output=str(tmp_path / "out"), quiet=True)
    assert result.exit_code == 0 and "ACCOUNTING MISMATCH" not in result.summary, result.summary
    counts = result.counts
    read_skips = sum(v for k, v in result.stages["read"].items() if k.startswith("skipped_"))
    assert counts["documents_read"] + read_skips == 64
    assert counts["articles"] + counts["duplicates"] + counts["errors"] + counts["skipped"] == 64
    assert counts["articles"] + counts["duplicates"] == 10  # every whole HTML page
