"""Isolation of bad items (issue 22, items 7, 11, 12): one bad line, feed item, file name or special file
is one error row or one counted skip, never a failed, hung or unbounded run; per-file and per-document
caps cut with one error row saying so."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import threading

import pytest

from tests.support.cli import SEEDS
from transforms.feeds.formats import feed_records
from transforms.formats.jsonl import read_jsonl
from transforms.read import ReadSettings, read_documents
from transforms.schema import ErrorRecord, RawDocument


def split(records) -> tuple[list[RawDocument], list[ErrorRecord]]:
    records = list(records)
    assert all(isinstance(r, (RawDocument, ErrorRecord)) for r in records)
    return [r for r in records if isinstance(r, RawDocument)], [r for r in records if isinstance(r, ErrorRecord)]


def jsonl(*lines: bytes) -> io.BytesIO:
    return io.BytesIO(b"\n".join(lines) + b"\n")


def line(n: int) -> bytes:
    return json.dumps({"title": f"Story {n}", "text": f"Body of story number {n}, long enough."}).encode()


# ------------------------------------------------------------------------------------- item 7: a long line


def test_a_jsonl_line_over_the_document_cap_is_one_error_and_the_lines_after_it_are_read():
    limits = ReadSettings(max_document_bytes=2048)
    long_line = b'{"text": "' + b"a" * 10_000 + b'"}'
    docs, errors = split(read_jsonl("/in/d.jsonl", jsonl(line(1), long_line, line(3), long_line, line(5)), limits))
    assert [d.source_path for d in docs] == ["/in/d.jsonl:1", "/in/d.jsonl:3", "/in/d.jsonl:5"]
    assert [e.source_path for e in errors] == ["/in/d.jsonl:2", "/in/d.jsonl:4"]
    assert all("longer than 2048 bytes" in e.error for e in errors)


def test_a_long_line_at_the_default_cap_in_a_gzip_stream_keeps_the_next_line():
    data = gzip.compress(b'{"text": "' + b"a" * (21 * 2**20) + b'"}\n' + line(2) + b"\n")
    docs, errors = split(read_jsonl("/in/long.jsonl.gz", io.BytesIO(data)))
    assert [d.source_path for d in docs] == ["/in/long.jsonl.gz:2"]
    [error] = errors
    assert error.source_path == "/in/long.jsonl.gz:1" and "a line longer than" in error.error


def test_a_jsonl_field_of_the_wrong_type_or_a_deep_nest_is_one_error_row():
    lines = [
        json.dumps({"text": "Body one.", "title": {"en": "an object"}}).encode(),
        json.dumps({"text": "Body two.", "published": 1629072000}).encode(),  # epoch seconds: taken as text
        json.dumps({"text": ["a", "list"]}).encode(),
        b"[" * 100_000,
        json.dumps({"text": "Body five.", "url": True}).encode(),
    ]
    docs, errors = split(read_jsonl("/in/t.jsonl", jsonl(*lines)))
    assert [(d.source_path, d.published) for d in docs] == [("/in/t.jsonl:2", "1629072000")]
    assert [e.source_path.rsplit(":", 1)[1] for e in errors] == ["1", "3", "4", "5"]
    assert "'title' is an object" in errors[0].error and "'text' is a list" in errors[1].error
    assert "nested too deeply" in errors[2].error and "'url' is a boolean" in errors[3].error


# ------------------------------------------------------------------- item 12: caps per file and document


def test_a_tiny_gzip_of_junk_lines_gives_a_bounded_number_of_rows():
    bomb = gzip.compress(b"x\n" * 1_000_000, compresslevel=9)
    assert len(bomb) < 5_000
    limits = ReadSettings()
    records = list(read_jsonl("/in/junk.jsonl.gz", io.BytesIO(bomb), limits))
    assert len(records) == limits.max_file_errors + 1
    *junk, cut = records
    assert all("malformed JSON" in e.error for e in junk)
    assert cut.source_path == f"/in/junk.jsonl.gz:{limits.max_file_errors + 1}"
    assert "file cut" in cut.error and "--max_file_errors" in cut.error


def test_a_file_is_cut_at_its_line_cap_with_one_error_row():
    stream = jsonl(*(line(n) for n in range(1, 31)))
    docs, errors = split(read_jsonl("/in/many.jsonl", stream, ReadSettings(max_file_lines=10)))
    assert len(docs) == 10 and docs[-1].source_path == "/in/many.jsonl:10"
    [cut] = errors
    assert cut.source_path == "/in/many.jsonl:11" and "file cut at 10 lines" in cut.error and "--max_file_lines" in cut.error
    exact = jsonl(*(line(n) for n in range(1, 11)))  # exactly at the cap: nothing is cut
    assert split(read_jsonl("/in/ten.jsonl", exact, ReadSettings(max_file_lines=10)))[1] == []


def test_a_file_is_cut_at_its_decompressed_byte_cap_with_one_error_row():
    lines = [line(n) for n in range(1, 200)]
    limits = ReadSettings(max_file_bytes=4096)
    docs, errors = split(read_jsonl("/in/big.jsonl.gz", io.BytesIO(gzip.compress(b"\n".join(lines))), limits))
    whole = 0
    while sum(len(x) + 1 for x in lines[: whole + 1]) <= 4096:
        whole += 1
    assert len(docs) == whole  # every line wholly within the cap, and no more
    [cut] = errors
    assert cut.source_path == f"/in/big.jsonl.gz:{whole + 1}"
    assert "file cut at 4096 decompressed bytes" in cut.error and "--max_file_bytes" in cut.error


def test_a_single_document_file_over_the_document_cap_is_one_error():
    [error] = read_documents("/in/page.html.gz", gzip.compress(b"<p>" + b"a" * 5000), ReadSettings(max_document_bytes=1024))
    assert isinstance(error, ErrorRecord) and "larger than 1024 bytes" in error.error


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("max_file_lines", "0", "allowed: 1 to"),
        ("max_file_errors", "-5", "allowed: 1 to"),
        ("max_file_bytes", "12", r"allowed: 1 KiB to 1 TiB"),
        ("max_document_bytes", "lots", "not a size"),
        ("max_document_bytes", "2GiB", r"allowed: 1 KiB to 1 GiB"),
    ],
)
def test_cap_options_are_refused_out_of_range_before_any_work(tmp_path, flag, value, message):
    from pipelines.checks import UsageError
    from pipelines.run import run_pipeline

    with pytest.raises(UsageError, match=message):
        run_pipeline(input=[str(SEEDS / "*")], output=str(tmp_path / "out"), quiet=True, **{flag: value})
    assert not (tmp_path / "out").exists()


def test_cap_options_take_sizes_with_units():
    from pipelines.options import NewsPipelineOptions, settings

    read = settings(NewsPipelineOptions(["--max-document-bytes", "5MiB", "--max_file_bytes", "2G"]), ReadSettings)
    assert read.max_document_bytes == 5 * 2**20 and read.max_file_bytes == 2 * 2**30
    assert read.max_file_lines == ReadSettings.max_file_lines  # the defaults


# ---------------------------------------------------------------- item 11: one bad feed item is one error

JSON_FIELDS = ("title", "content_html", "content_text", "summary", "url", "id", "date_published", "authors", "tags")
WRONG = {"object": {"a": 1}, "list": ["a", 1], "number": 7, "true": True}


def json_feed(*items) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": list(items)}).encode()


def good_item(n: int) -> dict:
    return {"id": f"id-{n}", "url": f"https://news.example.com/{n}", "title": f"Story {n}", "content_html": f"<p>Body {n}</p>"}


ALLOWED = {("id", "number")}  # jsonfeed.org: a reader coerces a numeric id


@pytest.mark.parametrize("field, kind", [(f, k) for f in JSON_FIELDS for k in WRONG if (f, k) not in ALLOWED])
def test_a_json_feed_item_with_a_field_of_the_wrong_type_is_one_error_row(field, kind):
    bad = dict(good_item(2), **{field: WRONG[kind]})
    records, status = feed_records("/in/items.feed", json_feed(good_item(1), bad, good_item(3)))
    docs, errors = split(records)
    assert [d.entry_id for d in docs] == ["id-1", "id-3"]
    [error] = errors
    assert error.source_path == "/in/items.feed#item-2" and error.stage == "read" and error.feed_url == "/in/items.feed"
    assert repr(field) in error.error and "expected" in error.error
    assert status.status == "fetched" and status.entries == 3


@pytest.mark.parametrize("field", JSON_FIELDS + ("external_url", "date_modified", "author", "image"))
def test_a_json_feed_field_that_is_null_is_absent(field):
    item = dict(good_item(1), **{field: None})
    if field in ("content_html",):
        item["content_text"] = "Body"
    docs, errors = split(feed_records("/in/items.feed", json_feed(item))[0])
    assert len(docs) == 1 and not errors


def test_json_feed_odd_shapes_are_coerced_or_refused_per_item():
    authors = [{"name": "Ann"}, {"url": "https://x.example"}, {"name": 5}]
    items = [
        dict(good_item(1), id=17),  # a numeric id is coerced (jsonfeed.org 1.1)
        "not an item",
        dict(good_item(3), authors=authors),
        dict(good_item(4), tags=["a", 3]),
    ]
    docs, errors = split(feed_records("/in/items.feed", json_feed(*items))[0])
    assert [d.entry_id for d in docs] == ["17"]
    assert [e.source_path.rsplit("#", 1)[1] for e in errors] == ["item-2", "item-3", "item-4"]
    assert "the item is a string, expected an object" in errors[0].error
    assert "'authors'" in errors[1].error and "'tags'" in errors[2].error
    [error] = split(
        feed_records("/in/items.feed", json.dumps({"version": "https://jsonfeed.org/version/1", "items": 5}).encode())[0]
    )[1]
    assert "'items' is a number" in error.error  # the feed itself is malformed: one error for the feed


def test_an_entry_whose_link_cannot_be_split_is_one_error_row():
    items = [good_item(1), dict(good_item(2), url="http://[not-an-address/story"), good_item(3)]
    docs, errors = split(feed_records("/in/items.feed", json_feed(*items))[0])
    assert [d.entry_id for d in docs] == ["id-1", "id-3"]
    [error] = errors
    assert error.source_path == "/in/items.feed#item-2" and "Invalid IPv6 URL" in error.error


def test_unforeseen_failures_are_the_entrys_or_the_feeds_error_row(monkeypatch):
    import feedparser

    from transforms.feeds import formats

    entry = formats.feedparser_entry
    monkeypatch.setattr(formats, "feedparser_entry", lambda item: [][1] if item["id"] == "g2" else entry(item))
    docs, [error] = split(feed_records("/in/odd.rss", RSS.format(items=rss_item(1) + rss_item(2)).encode())[0])
    assert [d.entry_id for d in docs] == ["g1"] and error.source_path == "/in/odd.rss#item-2" and "IndexError" in error.error
    monkeypatch.setattr(feedparser, "parse", lambda *args, **kwargs: {}["boom"])
    [error], status = feed_records("/in/odd.rss", RSS.format(items=rss_item(1)).encode())
    assert error.error.startswith("unexpected KeyError while parsing") and status.status == "failed"


def test_a_json_feed_nested_too_deeply_is_one_error_for_the_feed():
    [error], status = feed_records("/in/deep.feed", b'{"version": "https://jsonfeed.org/version/1", "items": ' + b"[" * 100_000)
    assert "nested too deeply" in error.error and status.status == "failed"


RSS = "<rss version='2.0'><channel><title>F</title>{items}</channel></rss>"


def rss_item(n: int, extra: str = "") -> str:
    return f"<item><guid>g{n}</guid><title>T{n}</title><link>https://news.example.com/{n}</link><description>Body {n}</description>{extra}</item>"


@pytest.mark.parametrize(
    "oddity",
    [
        "<authors>v</authors>",  # feedparser stores the element's text where its list of authors goes
        "<published_parsed><x>v</x></published_parsed>",  # ... and a dict where its parsed date goes
        "<updated_parsed>v</updated_parsed>",  # a string where a time struct goes: was one error for the feed
        "<tags>v</tags>",
        "<content>v</content>",
    ],
)
def test_an_rss_item_that_feedparser_returns_oddly_is_one_error_row(oddity):
    content = RSS.format(items=rss_item(1) + rss_item(2, oddity) + rss_item(3)).encode()
    docs, errors = split(feed_records("/in/odd.rss", content)[0])
    assert {d.entry_id for d in docs} >= {"g1", "g3"}
    assert len(docs) + len(errors) == 3
    assert all(e.source_path == "/in/odd.rss#item-2" and e.stage == "read" for e in errors)


def test_an_atom_entry_with_an_odd_author_is_one_error_row():
    entry = "<entry><id>{n}</id><title>T</title><content>Body</content>{extra}</entry>"
    content = (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>"
        + entry.format(n=1, extra="<authors>x</authors>")
        + entry.format(n=2, extra="")
        + "</feed>"
    ).encode()
    docs, errors = split(feed_records("/in/odd.atom", content)[0])
    assert [d.entry_id for d in docs] == ["2"] and [e.source_path for e in errors] == ["/in/odd.atom#item-1"]


# --------------------------------------------------------- items 11, 12: file names and special files in a run


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_feed_path_that_is_a_fifo_is_one_error_not_a_hang(tmp_path):
    from transforms.feeds.sources import read_feed

    os.mkfifo(tmp_path / "feed.xml")
    [error], status = finishes(lambda: read_feed(str(tmp_path / "feed.xml"), None, None, {}, frozenset()), 10)
    assert "a FIFO, not a regular file" in error.error and status.status == "failed"


def test_an_unforeseen_failure_inside_one_file_is_that_files_error_row(tmp_path, monkeypatch):
    from transforms.read import _ReadFiles

    (tmp_path / "a.txt").write_text("Some text.")
    monkeypatch.setattr("transforms.formats.text.decode_text", lambda data: {}["a defect of ours"])
    reader = _ReadFiles(None)
    reader.setup()
    [remembered, error] = list(reader.process(str(tmp_path / "a.txt")))
    assert remembered.path == error.source_path == str(tmp_path / "a.txt")
    assert error.stage == "read" and error.error.startswith("unexpected KeyError while reading")


def finishes(fn, seconds: float):
    """``fn()``'s value, or a failure if it has not returned within ``seconds`` (a hung read)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="POSIX special files")
def test_bad_names_special_files_and_bad_items_in_one_run_are_accounted_for(tmp_path):
    from pipelines.run import run_pipeline
    from tests.support.cli import table

    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(next(SEEDS.glob("002_*.txt")), inputs / "seed.txt")
    with open(os.path.join(os.fsencode(inputs), b"bad\xffname.txt"), "wb") as handle:
        handle.write(b"Some text that nobody will read, as its name is not UTF-8.")
    bad = dict(good_item(2), title={"text": "an object"})
    (inputs / "items.feed").write_bytes(json_feed(good_item(1), bad, dict(good_item(3), url=7)))
    long_line = b'{"text": "' + b"a" * 5000 + b'"}'
    (inputs / "docs.jsonl").write_bytes(b"\n".join([long_line, b"{broken", long_line]) + b"\n")
    os.mkfifo(inputs / "pipe.txt")
    os.symlink("/dev/zero", inputs / "zero.jsonl")

    output = tmp_path / "out"
    result = finishes(
        lambda: run_pipeline(input=[str(inputs / "*")], output=str(output), quiet=True, max_document_bytes="4KiB", max_error_rate=1), 240
    )
    assert result.committed, result.summary
    counts = result.counts
    assert counts["documents_read"] == 1 + 1 + 3 + 3  # seed, bad name, three feed items, three lines
    assert counts["documents_read"] == counts["articles"] + counts["duplicates"] + counts["errors"]
    errors = {e["source_path"].rsplit("/", 1)[1]: e["error"] for e in table(output, "errors")}
    assert "not valid UTF-8" in errors["bad\\xffname.txt"]
    assert "'title'" in errors["items.feed#item-2"] and "'url'" in errors["items.feed#item-3"]
    assert "longer than 4096 bytes" in errors["docs.jsonl:1"] and "longer than" in errors["docs.jsonl:3"]
    assert result.stages["read"]["special_files"] == 2
    assert "special files skipped" in result.summary
    with open(result.stats_path) as handle:
        stats = json.load(handle)
    assert stats["stages"]["read"]["special_files"] == 2
