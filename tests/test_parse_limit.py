"""The time limit on one document's extraction (transforms/parse/limit.py): a page over it becomes an error
row and the worker goes on; pages under it come out as they would without it."""

import time

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.support.feed_server import article_page
from transforms.parse import HtmlOptions, ParseDocuments, limit, parse_document
from transforms.parse.html import parse_html
from transforms.parse.limit import Sandbox, TimeLimitExceeded, within_time_limit
from transforms.schema import RawDocument


def slow_page(paragraphs: int = 20000) -> str:
    """A page built to be slow: thousands of link-dense blocks, each a candidate body (13 s for 20,000 of them
    on a quiet core; the limit below is a tenth of that, so a faster machine still stops it)."""
    para = "<p>" + "The council met on Tuesday to discuss the harbour plan and its cost to residents. " * 3 + "</p>"
    blocks = "".join(f'<div class="c{i}">{para}<a href="/x{i}">more</a></div>' for i in range(paragraphs))
    return f"<html><body>{'<div>' * 20}{blocks}{'</div>' * 20}</body></html>"


def raw(doc_id: str, body: str) -> RawDocument:
    return RawDocument(doc_id, f"{doc_id}.html", "html", body)


def test_calls_return_their_value_or_raise_their_error():
    assert within_time_limit(5, divmod, 7, 2) == (3, 1)
    with pytest.raises(ValueError, match="invalid literal"):
        within_time_limit(5, int, "x")


def test_a_call_over_the_limit_is_stopped_and_the_next_one_gets_a_new_process():
    sandbox = Sandbox()
    try:
        assert sandbox.call(30, divmod, 9, 4) == (2, 1)
        first = sandbox._child.pid
        start = time.monotonic()
        with pytest.raises(TimeLimitExceeded, match=r"extraction took longer than 0.5 s"):
            sandbox.call(0.5, time.sleep, 60)
        assert time.monotonic() - start < 10
        assert sandbox._child is None  # killed, not left running
        assert sandbox.call(30, divmod, 9, 4) == (2, 1)
        assert sandbox._child.pid != first
    finally:
        sandbox.close()


def test_a_child_left_idle_is_stopped_and_started_again_for_the_next_call(monkeypatch):
    monkeypatch.setattr(limit, "IDLE_SECONDS", 0.5)  # the watcher looks every 0.5 s
    sandbox = Sandbox()
    try:
        assert sandbox.call(30, divmod, 9, 4) == (2, 1)
        child = sandbox._child
        deadline = time.monotonic() + 20
        while sandbox._child is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sandbox._child is None and child.poll() is not None  # stopped, its memory back
        assert sandbox.call(30, divmod, 9, 4) == (2, 1)
    finally:
        sandbox.close()


def test_the_child_does_not_import_from_the_working_directory(tmp_path, monkeypatch):
    """A worker run from a folder holding a ``pickle.py`` (a user's script, a checkout) still starts its
    child: the working directory is not on the child's path (``-P``)."""
    (tmp_path / "pickle.py").write_text("raise ImportError('the working directory was searched')\n")
    monkeypatch.chdir(tmp_path)
    sandbox = Sandbox()
    try:
        assert sandbox.call(30, divmod, 9, 4) == (2, 1)
    finally:
        sandbox.close()


def test_a_normal_page_is_extracted_as_without_the_limit():
    page = raw("ok", article_page(3).decode())
    assert parse_document(page) == parse_html(page)


def test_a_slow_page_becomes_an_error_row_and_the_others_pass(test_pipeline):
    options = HtmlOptions(time_limit=1.0)
    pages = [raw("slow", slow_page()), raw("ok1", article_page(1).decode()), raw("ok2", article_page(2).decode())]
    with test_pipeline as p:
        parsed = p | beam.Create(pages) | ParseDocuments(options)
        assert_that(parsed.articles | beam.Map(lambda a: a.article_id), equal_to(["ok1", "ok2"]), label="articles")
        assert_that(
            parsed.errors | beam.Map(lambda e: (e.source_path, e.stage, e.error)),
            equal_to([("slow.html", "parse", "TimeLimitExceeded: extraction took longer than 1 s (the time limit), stopped")]),
            label="errors",
        )
