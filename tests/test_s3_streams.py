"""Streams on S3 (moto's server on 127.0.0.1), fed by a local feed server: the stream's rows land, its
version is sealed when it stops, a restart ingests nothing twice, with its state in ``--state-dir
s3://...``; a stream killed midway is sealed by the restart, nothing lost or doubled. Short
runs (3 s of polling each), in-process."""

from __future__ import annotations

import pytest
from apache_beam.io.filesystems import FileSystems

import pipelines.run
from pipelines import read_table
from pipelines.run import run_pipeline
from tests.support.feed_server import FeedServer
from transforms.sink import view
from transforms.sink.read import committed_files
from transforms.write import commit
from transforms.write.parquet import EMPTY

STORIES = ["Dam inspection finds cracks", "Ferry timetable changes"]  # /local.xml, before it grows


def stream_on_s3(s3, server: FeedServer, output: str, **extra):
    return run_pipeline(
        s3.flags(),
        streaming=True,
        feed=[server.url("/local.xml")],
        allow_private_hosts=True,
        poll_interval="1s",
        window="2s",
        run_for="3s",
        output=output,
        quiet=True,
        **extra,
    )


def titles(output: str) -> list[str]:
    return sorted(read_table(output, "articles").column("title").to_pylist())


def sealed(output: str) -> bool:
    root = FileSystems.join(output, commit.VERSIONS, commit.current_version(output))
    return FileSystems.exists(FileSystems.join(root, commit.SUCCESS)) and FileSystems.exists(FileSystems.join(root, view.FILES))


def test_a_stream_on_s3_with_its_state_dir_there_lands_its_rows_is_sealed_and_a_restart_adds_nothing(s3, monkeypatch):
    bucket = s3.bucket("stream-state-dir")
    output = f"{bucket}/news"
    extra = {"state_dir": f"{bucket}/state"}
    monkeypatch.setattr(pipelines.run, "stop_on_signals", lambda _stop_file: None)  # pytest keeps its handlers
    with FeedServer(grow_after=10_000) as server:
        first = stream_on_s3(s3, server, output, **extra)
        assert first.committed and first.counts["articles"] == 2, first.summary
        assert titles(output) == STORIES and sealed(output)
        assert not [k for k in s3.keys(output) if "/_staging/" in k]
        assert [k for k in s3.keys(f"{bucket}/state") if "/feeds/" in k]  # the entry keys, in --state-dir
        assert not [k for k in s3.keys(output) if "/_state/" in k]
        second = stream_on_s3(s3, server, output, **extra)
    assert second.committed and second.counts["articles"] == second.counts["duplicates"] == 0, second.summary
    assert second.counts["documents_read"] == second.counts["errors"] == 0
    assert titles(output) == STORIES and sealed(output)  # nothing doubled, nothing lost
    assert commit.current_version(output) == second.run_id


def test_a_stream_killed_on_s3_is_sealed_by_its_restart_and_nothing_is_lost_or_doubled(s3, monkeypatch):
    """Killed once everything was written, before its seal: the version it published stays current, unsealed.
    The restart seals it and starts from it (its rows and its entry keys), so it polls nothing again."""
    output = s3.bucket("stream-killed") + "/news"
    monkeypatch.setattr(pipelines.run, "stop_on_signals", lambda _stop_file: None)
    with FeedServer(grow_after=10_000) as server:
        with monkeypatch.context() as patched:
            patched.setattr(pipelines.run, "seal", _crash)
            with pytest.raises(RuntimeError, match="killed here"):
                stream_on_s3(s3, server, output)
        killed = commit.current_version(output)
        assert not sealed(output) and titles(output) == STORIES  # published as written
        restarted = stream_on_s3(s3, server, output)
    assert restarted.committed and restarted.counts["articles"] == 0, restarted.summary  # nothing polled again
    assert titles(output) == STORIES and sealed(output)
    assert all(f"part-{killed}-" in path for path in commit_files(output, "articles"))  # the killed run's rows
    manifest = commit._manifest(FileSystems.join(output, commit.VERSIONS, killed))
    assert manifest["sealed_late_by"] == restarted.run_id
    assert manifest["accounting"] == "unknown"  # it failed before its seal: its accounting was never checked


def commit_files(output: str, table: str) -> list[str]:
    return [p for p in committed_files(output, table) if not p.endswith(EMPTY)]


def _crash(*_args, **_kwargs):
    raise RuntimeError("killed here")
