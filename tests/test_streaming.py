"""Streaming mode: the plain functions, then whole streaming runs against feeds that change while they run."""

import signal
import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.run import main
from tests.support.cli import ROOT, summary_numbers, table
from tests.support.feed_server import FeedServer
from tests.support.streams import run_stream
from transforms.dedupe.across_time import Match, Memory, Remembered, judge, match_and_remember
from transforms.dedupe.fingerprints import DedupeSettings, sketch
from transforms.feeds.poll import event_time
from transforms.schema import Article
from transforms.settings import duration


def test_duration():
    assert [duration(v) for v in ("90", "90s", "15m", "2h", "7d")] == [90, 90, 900, 7200, 7 * 86400]
    with pytest.raises(ValueError):
        duration("soon")


def test_event_time_kept_within_allowed_lateness():
    polled = 1_700_000_000.0
    assert event_time("2023-11-14T22:11:40+00:00", polled, 900) == polled - 100
    assert event_time("2020-01-01T00:00:00Z", polled, 900) == polled - 900  # too old: stamped at the watermark
    assert event_time("2030-01-01T00:00:00Z", polled, 900) == polled  # from the future: the poll time
    assert event_time(None, polled, 900) == event_time("not a date", polled, 900) == polled


TEXT = "the council approved the new railway line on monday after a long debate about its cost and route " * 3


def remembered(article_id: str, at: float, text: str = TEXT) -> Remembered:
    return Remembered(article_id, at, sketch(text, DedupeSettings()))


def test_verdicts_point_to_a_predecessor_whatever_the_order_keys_see_them():
    settings = DedupeSettings(horizon=3600)
    first, copy = remembered("b-first", 100.0), remembered("a-copy", 200.0)
    in_order, reversed_order = Memory(), Memory()
    assert match_and_remember(in_order, "0:k", first, settings) is None
    assert match_and_remember(in_order, "0:k", copy, settings).canonical_article_id == "b-first"
    assert match_and_remember(reversed_order, "0:k", copy, settings) is None
    assert match_and_remember(reversed_order, "0:k", first, settings) is None  # a later copy is no original


def test_a_stream_compares_only_articles_that_share_the_least_band_keys():
    """As a batch run's candidates (``clusters.fewest_candidates``): so batching does not change clusters."""
    from tests.test_dedupe import sketches_sharing_one_band

    first, copy = sketches_sharing_one_band()
    for least, expected in ((2, None), (1, "b-first")):
        settings, memory = DedupeSettings(horizon=3600, min_shared_bands=least), Memory()
        match_and_remember(memory, "0:k", Remembered("b-first", 100.0, first), settings)
        match = match_and_remember(memory, "0:k", Remembered("a-copy", 200.0, copy), settings)
        assert (match and match.canonical_article_id) == expected


def test_memory_forgets_beyond_the_horizon():
    settings, memory = DedupeSettings(horizon=3600), Memory()
    match_and_remember(memory, "0:k", remembered("old", 0.0), settings)
    assert match_and_remember(memory, "0:k", remembered("new", 7200.0), settings) is None
    assert [m.article_id for m in memory["0:k"]] == ["new"]


def test_judge_takes_the_earliest_match():
    article = Article("x", "p", None, None, None, (), None, "en", TEXT, "feed")
    assert judge(article, [None, None]).cluster_id == "x"
    duplicate = judge(article, [Match("late", 50.0, 0.9), None, Match("early", 10.0, 0.8)])
    assert (duplicate.canonical_article_id, duplicate.similarity) == ("early", 0.8)


def streaming_args(server: FeedServer, output, *extra: str) -> list[str]:
    return [
        "--streaming",
        "--feed",
        server.url("/local.xml"),
        "--feed",
        server.url("/wire.xml"),
        "--feed",
        server.url("/404"),
        "--allow-private-hosts",
        "--poll-interval",
        "1s",
        "--window",
        "2s",
        "--output",
        str(output),
        *extra,
    ]


def grown_when_unchanged(server: FeedServer, grown: list[int]):
    """A step (``tests.support.streams``): once both feeds answered 304 (polled again, nothing new), they grow."""

    def step() -> bool:
        if not server.answered("/local.xml", "/wire.xml", status=304):
            return False
        grown.append(server.grow_now())
        return True

    return step


def through_the_growth(server: FeedServer) -> tuple:
    """The steps of a job that sees the feeds unchanged, then grown: it stops once it has read both again."""
    grown: list[int] = []
    return grown_when_unchanged(server, grown), lambda: server.answered("/local.xml", "/wire.xml", status=200, since=grown[0])


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    """Two jobs on one output, each stopped on an event: the first once it has polled the feeds unchanged,
    then grown (the school story, the wire copy of the dam story); the restart once it has read both."""
    output = tmp_path_factory.mktemp("stream")
    with FeedServer(grow_after=10_000) as server:
        first = run_stream(output, streaming_args(server, output), *through_the_growth(server))
        assert first.returncode == 0, first.stderr[-3000:]
        restart = len(server.statuses)
        second = run_stream(
            output, streaming_args(server, output), lambda: server.answered("/local.xml", "/wire.xml", since=restart)
        )
        assert second.returncode == 0, second.stderr[-3000:]
        return output, first, second, list(server.statuses)


def test_every_story_once_and_the_syndicated_copy_a_duplicate_of_the_first(streamed):
    output, first, second, statuses = streamed
    articles = table(output, "articles")
    assert sorted(a["title"] for a in articles) == ["Dam inspection finds cracks", "Ferry timetable changes", "New school opens"]
    assert len({a["article_id"] for a in articles}) == len(articles)  # nothing written twice
    [duplicate] = table(output, "duplicates")
    original = next(a for a in articles if a["title"].startswith("Dam"))
    assert duplicate["url"].endswith("/wire/dam.html") and duplicate["canonical_article_id"] == original["article_id"]
    assert duplicate["similarity"] >= 0.7
    assert "Anna Berg" in {e["entity"] for e in table(output, "entities")}
    counts = summary_numbers(first.stdout)
    assert counts["documents read"] == counts["articles written"] + counts["duplicates"] + counts["errors"]
    errors = table(output, "errors")
    assert counts["errors"] >= 1 and counts["errors"] + summary_numbers(second.stdout)["errors"] == len(
        errors
    )  # dead feed: a row per poll
    assert {(e["stage"], e["feed_url"].endswith("/404")) for e in errors} == {("fetch", True)}
    assert ("/local.xml", 304) in statuses and ("/wire.xml", 304) in statuses  # polls that found nothing new
    assert counts["entries seen before"] >= 2  # the unchanged repeats, dropped at the source
    feeds = table(output, "feeds")
    assert {f["status"] for f in feeds} >= {"fetched", "not_modified"}


def test_a_restarted_job_ingests_nothing_twice(streamed):
    _, _, second, statuses = streamed
    counts = summary_numbers(second.stdout)
    assert counts["articles written"] == counts["duplicates"] == 0
    assert counts["documents read"] == counts["errors"]  # only the dead feed's
    assert counts["entries seen before"] >= 4


def test_files_named_by_window_are_readable_by_pyarrow_and_duckdb(streamed):
    output = streamed[0]
    files = [p for p in output.rglob("*.parquet")]
    assert files and not any(c in p.name for p in files for c in " []():")
    assert not list(output.rglob("*.tmp"))
    windowed = [p for p in (output / "articles").rglob("*.parquet") if not p.name.endswith("-empty.parquet")]
    assert all(p.name.split("-")[2].endswith("Z") for p in windowed)  # part-<run>-<window start>Z-<unique>
    rows = duckdb.sql(
        f"select count(*), count(distinct article_id) from read_parquet('{output}/articles/*/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert rows == [(3, 3)]


def test_sigterm_stops_polling_and_keeps_what_was_written(tmp_path):
    """Files appear while the job runs; SIGTERM drains it: it writes what is pending and exits 0."""
    import os

    with FeedServer(grow_after=1.0) as server:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        job = subprocess.Popen(
            [sys.executable, "-m", "pipelines.run", *streaming_args(server, tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.time() + 300  # a bound, not a wait: a loaded machine takes a minute to start the job
            while not list((tmp_path / "duplicates").glob("part-*Z-*.parquet")) and time.time() < deadline:
                time.sleep(0.5)
            assert time.time() < deadline, "no file written while the job ran"
            job.send_signal(signal.SIGTERM)
            stdout, stderr = job.communicate(timeout=120)
        finally:
            job.kill()
    assert job.returncode == 0, stderr[-3000:]
    counts = summary_numbers(stdout)
    assert counts["articles written"] == 3 and counts["duplicates"] == 1
    assert len(table(tmp_path, "articles")) == 3


def test_the_stream_runs_on_the_portable_runner(tmp_path, job_service):
    """The Fn API path that Flink, Spark and Dataflow use: the same stories, the same duplicate."""
    with FeedServer(grow_after=10_000) as server:
        runner = ["--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK"]
        result = run_stream(tmp_path, [*streaming_args(server, tmp_path), *runner], *through_the_growth(server))
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(a["title"] for a in table(tmp_path, "articles")) == [
        "Dam inspection finds cracks",
        "Ferry timetable changes",
        "New school opens",
    ]
    assert [d["url"].rsplit("/", 2)[1:] for d in table(tmp_path, "duplicates")] == [["wire", "dam.html"]]


def test_streaming_without_feeds_is_refused_before_the_output_is_touched(tmp_path, capsys):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "earlier.parquet").write_bytes(b"kept")
    assert main(["--streaming", "--output", str(tmp_path)]) == 2
    assert "give at least one --feed" in capsys.readouterr().err
    assert (tmp_path / "articles" / "earlier.parquet").read_bytes() == b"kept"


def test_a_restarted_job_catches_a_copy_of_what_it_wrote_before(tmp_path):
    """Stop the job after the original is written, restart it, publish the copy: the restarted job reads
    the dedupe index its predecessor left and marks the copy a duplicate of the earlier article."""
    with FeedServer(grow_after=10_000) as server:
        first = run_stream(tmp_path, streaming_args(server, tmp_path), lambda: server.answered("/local.xml", "/wire.xml"))
        assert first.returncode == 0, first.stderr[-3000:]
        assert summary_numbers(first.stdout)["duplicates"] == 0 and not table(tmp_path, "duplicates")
        [original] = [a for a in table(tmp_path, "articles") if a["title"].startswith("Dam")]
        grown = server.grow_now()  # the wire copy is published only now
        second = run_stream(tmp_path, streaming_args(server, tmp_path), lambda: server.answered("/wire.xml", since=grown))
    assert second.returncode == 0, second.stderr[-3000:]
    [duplicate] = table(tmp_path, "duplicates")
    assert duplicate["url"].endswith("/wire/dam.html") and duplicate["canonical_article_id"] == original["article_id"]
    assert summary_numbers(second.stdout)["duplicates"] == 1
    assert list((tmp_path / "_state" / "dedupe" / "sketches").rglob("*.parquet"))  # the index grew as it wrote


def test_a_stream_with_its_state_in_a_state_dir_is_stopped_on_its_event(tmp_path):
    """``tests.support.streams`` stops a job through its stop file, which is in the job's state: with
    ``--state-dir``, in that folder. The job found and removed it (none is left anywhere), so it ended on
    the event, not after ``--run-for``; its state is in the folder."""
    output, state = tmp_path / "out", tmp_path / "state"
    with FeedServer(grow_after=10_000) as server:
        args = streaming_args(server, output, "--state-dir", str(state))
        result = run_stream(output, args, lambda: server.answered("/local.xml", "/wire.xml"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not [p for folder in (output, state) for p in folder.rglob("stop-*")]
    assert len(table(output, "articles")) == 2 and list(state.rglob("*.json"))


def test_what_an_earlier_run_wrote_precedes_every_newcomer():
    settings, memory = DedupeSettings(horizon=3600), Memory()
    earlier = Remembered("written-before", 500.0, sketch(TEXT, DedupeSettings()), cluster_id="its-cluster")
    memory["0:k"] = [earlier]
    match = match_and_remember(memory, "0:k", remembered("copy", 100.0), settings)  # published before it
    assert (match.canonical_article_id, match.similarity) == ("its-cluster", 1.0)
