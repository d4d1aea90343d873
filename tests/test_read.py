import gzip
import json

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from transforms.read import ReadDocuments, ReadSettings, content_digest, content_id, read_documents
from transforms.schema import ErrorRecord, RawDocument


def read(path, data):
    return list(read_documents(path, data))


def test_text_file_is_one_document():
    data = b"Title\n\nSome body text here."
    [doc] = read("/in/a.txt", data)
    assert doc == RawDocument(content_id("/in/a.txt", content_digest(data)), "/in/a.txt", "text", "Title\n\nSome body text here.", encoding="utf-8")


def test_utf8_bom_is_dropped():
    [doc] = read("/in/a.txt", b"\xef\xbb\xbfHello world")
    assert doc.body == "Hello world"


def test_html_honours_declared_charset():
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9</p></body></html>'.encode("latin-1")
    [doc] = read("/in/a.html", html)
    assert doc.format == "html" and "Café" in doc.body


def test_gzip_wraps_any_format():
    [doc] = read("/in/a.html.gz", gzip.compress(b"<html><body><p>x</p></body></html>"))
    assert doc.format == "html"


def test_jsonl_one_document_per_line_with_errors_for_bad_lines():
    lines = [
        json.dumps({"url": "https://e.com/1", "title": "T", "text": "Body one.", "source": "E", "published": "2021-08-16"}),
        "",
        "{not json",
        json.dumps({"html": "<p>Body</p>"}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "no body"}),
    ]
    out = read("/in/docs.jsonl", "\n".join(lines).encode())
    docs = [r for r in out if isinstance(r, RawDocument)]
    errors = [r for r in out if isinstance(r, ErrorRecord)]
    assert [d.format for d in docs] == ["text", "html"]
    assert docs[0].url == "https://e.com/1" and docs[0].published == "2021-08-16" and docs[0].source == "E"
    assert docs[0].source_path == "/in/docs.jsonl:1" and docs[1].source_path == "/in/docs.jsonl:4"
    assert len({d.doc_id for d in docs}) == 2
    assert [e.source_path for e in errors] == ["/in/docs.jsonl:3", "/in/docs.jsonl:5", "/in/docs.jsonl:6"]
    assert "malformed JSON" in errors[0].error and "expected an object" in errors[1].error
    assert "neither 'text' nor 'html'" in errors[2].error
    assert all(e.stage == "read" for e in errors)


def test_bad_files_become_errors_with_clear_reasons():
    cases = {
        "/in/empty.txt": (b"  \n ", "empty file"),
        "/in/image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary content"),
        "/in/broken.txt.gz": (b"\x1f\x8b\x08\x00garbage", "corrupt or truncated gzip"),
        "/in/truncated.txt.gz": (gzip.compress(b"hello world " * 100)[:30], "corrupt or truncated gzip"),
        "/in/sheet.xlsx": (b"some text", "unsupported file type"),
    }
    for path, (data, reason) in cases.items():
        [error] = read(path, data)
        assert isinstance(error, ErrorRecord), path
        assert error.stage == "read" and reason in error.error, (path, error.error)
        assert error.source_path == path


def test_gzip_bomb_is_refused():
    [error] = read_documents("/in/bomb.txt.gz", gzip.compress(b"a" * 100_000), ReadSettings(max_document_bytes=1000))
    assert "larger than 1000 bytes" in error.error


def test_read_transform_matches_globs_once_per_file(tmp_path, test_pipeline):
    (tmp_path / "a.txt").write_text("Alpha text body here.")
    (tmp_path / "b.html").write_text("<html><body><p>Beta</p></body></html>")
    (tmp_path / "c.txt").write_bytes(b"")
    with test_pipeline as p:
        read = p | ReadDocuments([str(tmp_path / "*"), str(tmp_path / "a.*")])  # a.txt matched twice
        assert_that(
            read.documents | beam.Map(lambda d: (d.format, d.source_path.rsplit("/", 1)[1])),
            equal_to([("text", "a.txt"), ("html", "b.html")]),
            label="documents",
        )
        assert_that(read.errors | beam.Map(lambda e: (e.stage, e.error)), equal_to([("read", "empty file")]), label="errors")
