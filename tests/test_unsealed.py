"""An append onto a version that a stream published but never sealed (killed, or its accounting broken):
the stream's rows, its committed bundles and its state are carried into the new version (the unsealed
version sealed first), on a local disk and on S3; a version that cannot be verified is refused, nothing
written."""

from __future__ import annotations

import json
import os

import pytest
from apache_beam.io.filesystems import FileSystems

from pipelines import read_table
from tests.test_stream_restarts import FEED, Crash, article, crash, write_bundle
from transforms.feeds.formats import entry_keys
from transforms.feeds.state import ingested_keys, settle
from transforms.write import TABLES, commit, stream, write_empty_table
from transforms.write.bundles import finish_staged
from transforms.write.tables import commit as commit_version


def killed_stream(output: str, monkeypatch, state_dir=None) -> commit.Version:
    """A committed first run (article 1), then a stream on it as ``run_stream`` does it (published at once),
    which wrote article 2 and was killed while article 3's bundle, keys committed, was still staged."""
    first = commit.begin(output, "first0000000", append=False, state_dir=state_dir)
    write_bundle(first.root, first.state, first.run_id, [article(1)])
    commit_version(first, {"run_id": first.run_id, "finished_at": "2026-12-06T10:00:00+00:00"})
    streamed = commit.begin(output, "stream000000", append=True, state_dir=state_dir)
    for table in TABLES:
        write_empty_table(streamed.root, table, streamed.run_id)
    commit.publish(streamed)
    write_bundle(streamed.root, streamed.state, streamed.run_id, [article(2)])
    with monkeypatch.context() as patched:
        patched.setattr(stream, "publish_staged", crash)
        with pytest.raises(Crash):
            write_bundle(streamed.root, streamed.state, streamed.run_id, [article(3)])
    return streamed  # never sealed: the process is gone


def appended(output: str, state_dir=None) -> commit.Version:
    """An append's start as ``pipelines.run`` makes it (what a killed stream staged finished, the feed state
    settled), then its commit."""
    after = commit.begin(output, "after0000000", append=True, state_dir=state_dir)
    finish_staged(after.root, after.state)
    settle(after.state, after.root, after.removed)
    commit_version(after, {"run_id": after.run_id, "previous_version": after.previous})
    return after


def assert_nothing_lost(output: str, after: commit.Version) -> None:
    ids = sorted(read_table(output, "articles").column("article_id").to_pylist())
    assert ids == ["id-1", "id-2", "id-3"]
    assert sorted(read_table(output, "entities").column("article_id").to_pylist()) == ids
    keys = set().union(*(entry_keys(a.entry_id, a.url) for a in map(article, (1, 2, 3))))
    assert ingested_keys(after.state, FEED) >= keys  # the stream's entries are not polled again


@pytest.mark.parametrize("outside", [False, True], ids=["state inside", "--state-dir"])
def test_an_append_onto_a_killed_streams_version_keeps_its_rows_and_state(tmp_path, monkeypatch, outside):
    output, state_dir = str(tmp_path / "out"), (str(tmp_path / "state") if outside else None)
    streamed = killed_stream(output, monkeypatch, state_dir)
    after = appended(output, state_dir)
    assert after.previous == streamed.run_id
    assert_nothing_lost(output, after)
    assert os.path.exists(os.path.join(streamed.root, commit.SUCCESS))  # sealed, late, by the append
    assert commit._manifest(streamed.root)["state_dir"] == state_dir


def test_a_killed_streams_late_seal_says_its_accounting_is_unknown(tmp_path, monkeypatch, caplog):
    """A killed stream left no record of its accounting: the late seal does not pass for a run that
    balanced; its manifest says so, and a warning names the version."""
    output = str(tmp_path / "out")
    streamed = killed_stream(output, monkeypatch)
    with caplog.at_level("WARNING", logger="transforms.write.seal"):
        appended(output)
    assert commit._manifest(streamed.root)["accounting"] == "unknown"
    assert [r for r in caplog.records if r.levelname == "WARNING" and streamed.run_id in r.getMessage()]


def test_a_streams_late_seal_says_its_accounting_did_not_balance(tmp_path, monkeypatch, caplog):
    """The stream's own stats file says its accounting broke (``run_stream``'s status): the late seal records
    that in the manifest and warns; the rows are kept, as they stand."""
    output = str(tmp_path / "out")
    streamed = killed_stream(output, monkeypatch)
    runs = os.path.join(output, commit.RUNS)
    os.makedirs(runs, exist_ok=True)
    with open(os.path.join(runs, f"{streamed.run_id}.json"), "w", encoding="utf-8") as handle:
        json.dump({"run_id": streamed.run_id, "status": commit.ACCOUNTING_MISMATCH}, handle)
    with caplog.at_level("WARNING", logger="transforms.write.seal"):
        after = appended(output)
    assert commit._manifest(streamed.root)["accounting"] == "did not balance"
    assert [r for r in caplog.records if "did not balance" in r.getMessage()]
    assert_nothing_lost(output, after)
    assert "accounting" not in commit._manifest(after.root)  # the append's own seal: balanced, nothing to say


def test_a_killed_streams_version_whose_state_cannot_be_found_is_refused(tmp_path, monkeypatch):
    """The stream kept its state in a --state-dir this run does not name: refused, nothing written."""
    output = str(tmp_path / "out")
    killed_stream(output, monkeypatch, str(tmp_path / "state"))
    before = sorted(os.listdir(os.path.join(output, commit.VERSIONS)))
    with pytest.raises(commit.DatasetError, match="--state-dir"):
        commit.begin(output, "after0000000", append=True)
    assert sorted(os.listdir(os.path.join(output, commit.VERSIONS))) == before
    assert commit.current_version(output) == "stream000000"


def test_an_append_on_s3_onto_a_killed_streams_version_keeps_its_rows_and_state(s3, monkeypatch):
    bucket = s3.bucket("late-seal")
    output = f"{bucket}/news"
    FileSystems.set_options(s3.options())
    streamed = killed_stream(output, monkeypatch)
    after = appended(output)
    assert after.previous == streamed.run_id
    assert_nothing_lost(output, after)
    assert FileSystems.exists(FileSystems.join(streamed.root, commit.SUCCESS))


def test_an_s3_version_whose_base_is_gone_is_refused(s3, monkeypatch):
    """The unsealed version names a base that no longer lists its files: nothing to verify it by."""
    bucket = s3.bucket("late-seal-refused")
    output = f"{bucket}/news"
    FileSystems.set_options(s3.options())
    streamed = killed_stream(output, monkeypatch)
    first = FileSystems.join(output, commit.VERSIONS, "first0000000")
    s3.client().delete_object(Bucket="late-seal-refused", Key=f"news/_versions/first0000000/{'_files.json'}")
    from transforms.sink import view

    view._sealed.pop(first, None)
    before = s3.keys(output)
    with pytest.raises(commit.DatasetError, match="cannot be verified"):
        commit.begin(output, "after0000000", append=True)
    assert [k for k in s3.keys(output) if "/_lock" not in k] == [k for k in before if "/_lock" not in k]
    assert commit.current_version(output) == streamed.run_id


def test_an_s3_version_whose_base_record_cannot_be_read_is_refused(s3, monkeypatch):
    """A damaged ``_base.json`` is not read as "starts from nothing", which would seal the version without
    every earlier row."""
    bucket = s3.bucket("late-seal-damaged")
    output = f"{bucket}/news"
    FileSystems.set_options(s3.options())
    streamed = killed_stream(output, monkeypatch)
    s3.client().put_object(Bucket="late-seal-damaged", Key="news/_versions/stream000000/_base.json", Body=b"{")
    from transforms.sink import view

    view._bases.pop(streamed.root, None)
    with pytest.raises(commit.DatasetError, match="cannot be read"):
        commit.begin(output, "after0000000", append=True)
    assert commit.current_version(output) == streamed.run_id
    assert not FileSystems.exists(FileSystems.join(streamed.root, commit.SUCCESS))


def test_an_s3_streams_state_dir_is_found_by_an_append_that_names_none(s3, monkeypatch):
    """The stream kept its state in a --state-dir that the append does not name: its ``_base.json`` says
    where, so its late seal records it (not "inside the version", which would orphan the state), and the
    append is refused as onto any version whose state is elsewhere; with the --state-dir it goes on."""
    bucket = s3.bucket("late-seal-state")
    output, state_dir = f"{bucket}/news", f"{bucket}/state"
    FileSystems.set_options(s3.options())
    streamed = killed_stream(output, monkeypatch, state_dir)
    with pytest.raises(commit.DatasetError, match="--state-dir"):
        commit.begin(output, "after0000000", append=True)
    assert commit._manifest(streamed.root)["state_dir"] == state_dir
    after = appended(output, state_dir)
    assert after.previous == streamed.run_id
    assert_nothing_lost(output, after)


def test_a_streams_entry_keys_are_folded_into_the_appending_version_on_s3_never_into_earlier_ones(s3, monkeypatch):
    """``feeds.state.settle`` folds a stream's bundle key files into their feed's file: in the new version,
    not in the folder ``view.match`` found them in (the base's, on S3), which is committed and not this run's;
    the keys then outlive the next append too."""
    output = s3.bucket("settle-here") + "/news"
    FileSystems.set_options(s3.options())
    streamed = killed_stream(output, monkeypatch)
    commit.seal(streamed, {"run_id": streamed.run_id, "previous_version": streamed.previous})  # it stopped well
    earlier = set(s3.keys(f"{output}/_versions/first0000000")) | set(s3.keys(f"{output}/_versions/stream000000"))
    after = appended(output)
    assert set(s3.keys(f"{output}/_versions/first0000000")) | set(s3.keys(f"{output}/_versions/stream000000")) == earlier
    assert [k for k in s3.keys(after.root) if k.endswith(".json") and "/_state/feeds/" in k]
    keys = set().union(*(entry_keys(a.entry_id, a.url) for a in map(article, (1, 2))))
    assert ingested_keys(appended_again(output).state, FEED) >= keys


def appended_again(output: str) -> commit.Version:
    again = commit.begin(output, "again0000000", append=True)
    settle(again.state, again.root, again.removed)
    commit_version(again, {"run_id": again.run_id, "previous_version": again.previous})
    return again
