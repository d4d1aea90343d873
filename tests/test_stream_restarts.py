"""A stream killed at any point of a bundle's write, then restarted: every entry's rows exactly once; and
``--write_mode overwrite``, which a stream's restarts would turn into data loss, refused."""

import datetime as dt

import pytest
from apache_beam.transforms.window import IntervalWindow

import pipelines.run
from pipelines.run import run_pipeline
from tests.support.cli import table
from tests.support.feed_server import FeedServer
from tests.support.streams import BOUND, stop_after
from transforms.dedupe.across_time import Memory, Remembered, match_and_remember
from transforms.dedupe.fingerprints import DedupeSettings, sketch
from transforms.feeds.formats import entry_keys
from transforms.feeds.state import ingested_keys
from transforms.schema import Article, Duplicate, Entity
from transforms.write import bundles, stream
from transforms.write.bundles import STAGING, finish_staged
from transforms.write.commit import begin
from transforms.write.tables import commit


class Crash(Exception):
    """What a kill at this point leaves behind, without killing the test's process."""


def crash(*_args, **_kwargs):
    raise Crash("killed here")


def crash_on_call(number: int, function):
    """``function``, except that its ``number``-th call is killed."""
    calls = []

    def patched(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise Crash("killed here")
        return function(*args, **kwargs)

    return patched


# ------------------------------------------------------------------ each kill point, without Beam

FEED = "http://news.test/feed.xml"
PUBLISHED = dt.datetime(2026, 11, 23, 14, 20, tzinfo=dt.UTC)
WINDOW = IntervalWindow(PUBLISHED.timestamp() - 300, PUBLISHED.timestamp() + 600)


def article(n: int) -> Article:
    text = f"story {n}: the council approved the new railway line on monday after a long debate. " * 3
    mention = Entity("Riverton", "GPE", 0, 8, "Riverton")
    return Article(f"id-{n}", f"feed-{n}", f"http://news.test/{n}.html", "News", f"Story {n}", (), PUBLISHED, "en", text,
                   "feed", entry_id=f"entry-{n}", entities=(mention,), cluster_id=f"id-{n}", feed_url=FEED)  # fmt: skip


def write_bundle(root: str, state: str, run_id: str, records) -> None:
    """One bundle through the stream writer, as the runner drives it."""
    writer = stream._WriteBundleFiles(root, run_id, state)
    writer.start_bundle()
    for record in records:
        writer.process(record, window=WINDOW)
    writer.finish_bundle()


KILL_POINTS = {
    "while staging the files": ("write_parquet", 2),
    "before the keys beside the files": ("mark_committed", 1),
    "before recording the keys": ("record_ingested_keys", 1),
    "before moving the files": ("publish_staged", 1),
    "between two moves": ("bundles.ensure_folder", 2),
    "before removing the staging folder": ("bundles._remove", 1),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_bundle_killed_anywhere_is_written_once_after_the_restart(tmp_path, monkeypatch, point):
    """The restart (``finish_staged``, then a job that polls again what is not recorded) leaves every
    article, its entities and its keys exactly once, whichever step the kill interrupted."""
    root, state = str(tmp_path / "version"), str(tmp_path / "version" / "_state")
    records = [article(1), article(2)]
    name, number = KILL_POINTS[point]
    module = bundles if name.startswith("bundles.") else stream
    function = name.removeprefix("bundles.")
    with monkeypatch.context() as patched:
        patched.setattr(module, function, crash_on_call(number, getattr(module, function)))
        with pytest.raises(Crash):
            write_bundle(root, state, "killed", records)
    finish_staged(root, state)
    recorded = ingested_keys(state, FEED)
    again = [r for r in records if not entry_keys(r.entry_id, r.url) & recorded]  # what a restarted job polls again
    assert again in ([], records)  # all of the bundle or none of it
    if again:
        write_bundle(root, state, "restarted", again)
    assert sorted(a["article_id"] for a in table(tmp_path / "version", "articles")) == ["id-1", "id-2"]
    assert sorted(e["article_id"] for e in table(tmp_path / "version", "entities")) == ["id-1", "id-2"]
    assert set().union(*(entry_keys(r.entry_id, r.url) for r in records)) == ingested_keys(state, FEED)
    assert not list((tmp_path / "version" / STAGING).rglob("*"))


def test_a_committed_bundle_is_invisible_to_readers_until_its_files_move(tmp_path, monkeypatch):
    root, state = str(tmp_path / "version"), str(tmp_path / "version" / "_state")
    monkeypatch.setattr(stream, "publish_staged", crash)
    with pytest.raises(Crash):
        write_bundle(root, state, "killed", [article(1)])
    assert not (tmp_path / "version" / "articles").exists()  # staged, not in the table
    assert finish_staged(root, state) == (1, 0)
    assert [a["article_id"] for a in table(tmp_path / "version", "articles")] == ["id-1"]


def test_a_retried_bundle_writes_the_same_files_again(tmp_path):
    """A runner that retries a bundle (same run, same entries) replaces its files instead of adding a copy."""
    root, state = str(tmp_path / "version"), str(tmp_path / "version" / "_state")
    copy = Duplicate("id-9", "feed-9", "http://wire.test/9.html", "Wire", "id-1", "id-1", 0.9, entry_id="entry-9", feed_url=FEED)
    for _ in range(2):
        write_bundle(root, state, "run", [article(1), copy])
    assert [a["article_id"] for a in table(tmp_path / "version", "articles")] == ["id-1"]
    assert [d["article_id"] for d in table(tmp_path / "version", "duplicates")] == ["id-9"]
    assert len(list((tmp_path / "version" / "_state" / "feeds").rglob("*.txt"))) == 1  # one file per feed and bundle


# ------------------------------------------------------------------ whole streaming jobs


def stream_for(server: FeedServer, output):
    """A job on /local.xml, stopped once it has read it (``tests.support.streams``), not after a fixed time."""
    since = len(server.statuses)
    with stop_after(output, lambda: server.answered("/local.xml", since=since)):
        return run_pipeline(
            streaming=True,
            feed=[server.url("/local.xml")],
            allow_private_hosts=True,
            poll_interval="1s",
            window="2s",
            run_for=BOUND,
            output=str(output),
            quiet=True,
        )


@pytest.mark.parametrize("kill_point", ["record_ingested_keys", "publish_staged"])
def test_a_job_killed_between_the_files_and_the_keys_writes_each_entry_once_when_restarted(tmp_path, monkeypatch, kill_point):
    """The job dies in the writer after its files were written, before its keys are recorded
    (``record_ingested_keys``) or before the files are in their tables (``publish_staged``, keys
    recorded): the restarted job finishes the bundle or polls its entries again, and has each story once."""
    output = tmp_path / "out"
    monkeypatch.setattr(pipelines.run, "stop_on_signals", lambda _stop_file: None)  # pytest keeps its handlers
    with FeedServer(grow_after=10_000) as server:  # /local.xml: the dam and ferry stories, nothing more
        with monkeypatch.context() as patched:
            patched.setattr(stream, kill_point, crash)
            with pytest.raises(Exception, match="killed here"):
                stream_for(server, output)
        restarted = stream_for(server, output)
    assert restarted.committed
    ids = [a["article_id"] for a in table(output, "articles")]
    assert len(ids) == 2 and len(set(ids)) == 2, ids


# ------------------------------------------------------------------ --write_mode overwrite


def test_overwrite_is_refused_for_a_stream_before_the_dataset_is_touched(tmp_path, capsys):
    """A stream is restarted by supervisors with the same command: with overwrite, every restart would
    replace what it wrote before (the old version deleted by the next run). Refused, exit 2, one line."""
    output = tmp_path / "out"
    version = begin(str(output), "earlier", append=False)
    write_bundle(version.root, None, "earlier", [article(1)])
    commit(version, {"run_id": "earlier"})
    before = table(output, "articles")
    status = pipelines.run.main([
        "--streaming", "--feed", "http://127.0.0.1:9/feed.xml", "--allow-private-hosts", "--run-for", "2s",
        "--write_mode", "overwrite", "--output", str(output),
    ])  # fmt: skip
    assert status == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "--write_mode overwrite is refused with --streaming" in line
    assert table(output, "articles") == before and before
    assert sorted(p.name for p in (output / "_versions").iterdir()) == ["earlier"]


def test_an_original_polled_again_is_no_copy_of_its_own_copy():
    """A bundle rolled back (the original A) while the bundle of its copy B committed: the index holds B in
    A's cluster. A, polled again by the restarted job, must stay an article, not a duplicate of itself."""
    settings = DedupeSettings(horizon=3600)
    text = "the council approved the new railway line on monday after a long debate about its cost and route " * 3
    copy = Remembered("b-copy", 200.0, sketch(text, settings), cluster_id="a-original")  # from the index
    memory = Memory()
    memory["0:k"] = [copy]
    assert match_and_remember(memory, "0:k", Remembered("a-original", 100.0, sketch(text, settings)), settings) is None
