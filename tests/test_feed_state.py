"""Feed state that stays small (issue 24, item 5): one file per feed, read by feed; keys of entries that left
their feed for good forgotten by a rule; the layout before (``feeds.json``, ``ingested/``) migrated in the
run's version; and across runs and stream restarts no entry ingested twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest

from pipelines.run import run_pipeline
from tests.support.cli import table
from tests.support.feed_server import STORIES, rss, story_html
from transforms.feeds import state as feed_state
from transforms.feeds import transforms as feed_transforms
from transforms.feeds.formats import entry_keys
from transforms.feeds.poll import _PollFeed
from transforms.feeds.state import (
    FORGET_AFTER_POLLS,
    FORGET_AFTER_SECONDS,
    FeedPoll,
    FeedState,
    load,
    polled,
    record_ingested_keys,
    save,
    settle,
)
from transforms.feeds.transforms import _FetchFeeds
from transforms.fetch import HttpSettings
from transforms.files import check_state_files
from transforms.schema import FeedStatus
from transforms.sink import view
from transforms.write.commit import VERSIONS, current_version

DAY = 86400.0


def poll(*keys: str) -> FeedPoll:
    return FeedPoll("https://f.example/feed", {}, frozenset(keys))


# ------------------------------------------------------------------------------ the rule, without Beam


def test_a_key_is_forgotten_only_after_enough_polls_and_enough_time():
    now = 1_000_000_000.0
    state = polled(FeedState("https://f.example/feed"), poll("id:a", "id:b"), ["id:a", "id:b"], now)
    for n in range(1, FORGET_AFTER_POLLS):  # b leaves the feed; a stays
        state = polled(state, poll("id:a"), [], now + n * DAY)
    assert state.seen == {"id:a", "id:b"}  # too few polls
    state = polled(state, poll("id:a"), [], now + FORGET_AFTER_POLLS * DAY)
    assert state.seen == {"id:a", "id:b"}  # enough polls, too little time
    state = polled(state, poll("id:a"), [], now + FORGET_AFTER_SECONDS + DAY)
    assert state.seen == {"id:a"}  # both: b left the feed for good; a, still listed, stays whatever its age


def test_polls_that_do_not_read_the_feed_do_not_count():
    now = 1_000_000_000.0
    state = polled(FeedState("u"), poll("id:a"), ["id:a"], now)
    for n in range(10):  # 304s and failures: the listing is not known
        state = polled(state, FeedPoll("u", {}, None), [], now + FORGET_AFTER_SECONDS + n * DAY)
    assert state.seen == {"id:a"} and state.polls == 1


def test_validators_and_entries_round_trip_one_file_per_feed(tmp_path):
    folder = str(tmp_path)
    for n in range(3):
        url = f"https://f{n}.example/feed"
        save(folder, polled(FeedState(url), FeedPoll(url, {"etag": f'"e{n}"'}, frozenset()), [f"id:{n}"], 1e9))
    assert len(os.listdir(tmp_path / "feeds")) == 3
    state, bundles = load(folder, "https://f1.example/feed")
    assert state.seen == {"id:1"} and bundles == []
    assert state.conditional_headers() == {"If-None-Match": '"e1"'}
    assert load(folder, "https://other.example/feed")[0].seen == frozenset()
    assert load(None, "https://f1.example/feed")[0].seen == frozenset()


def test_a_streams_bundle_keys_are_read_with_their_feed_and_folded_by_its_next_poll(tmp_path):
    folder = str(tmp_path)
    record_ingested_keys(folder, [("https://a.example/feed", "id:1"), ("https://b.example/feed", "id:2")], "bundle1")
    state, bundles = load(folder, "https://a.example/feed")
    assert state.seen == {"id:1"} and len(bundles) == 1
    save(folder, polled(state, poll("id:1"), [], time.time()), folded=bundles)
    assert load(folder, "https://a.example/feed") == (load(folder, "https://a.example/feed")[0], [])
    assert load(folder, "https://a.example/feed")[0].seen == {"id:1"}
    assert load(folder, "https://b.example/feed")[0].seen == {"id:2"}  # the other feed's bundle untouched


def test_the_state_check_does_not_read_the_feed_files(tmp_path):
    """Each feed's file is checked as its feed's reader reads it: the start of every run does not parse
    every feed's keys (``files.READ_BY_KEY``)."""
    save(str(tmp_path), FeedState("u", {}, 0, {"id:1": (1e9, 0)}))
    (tmp_path / "feeds" / f"{feed_state.feed_id('u')}.json").write_bytes(b"\xff not json")
    check_state_files(str(tmp_path))  # not read here
    with pytest.raises(ValueError, match="damaged"):
        load(str(tmp_path), "u")


@pytest.mark.parametrize("damage", [b"\xff not json", b"{not json", b'{"entries": {"id:1": 5}}', b"[1, 2]"])
def test_a_damaged_feed_file_is_read_as_a_new_feed_and_said_in_its_status_row(tmp_path, damage):
    """A run goes on: the feed is read whole (what was written before is set aside by id), its status row
    says why, and the file is replaced when the state is saved."""
    feed = tmp_path / "feed.xml"
    write_feed(feed, ["dam"])
    save(str(tmp_path), FeedState(str(feed), {}, 0, {"id:x": (1e9, 0)}))
    (tmp_path / "feeds" / f"{feed_state.feed_id(str(feed))}.json").write_bytes(damage)
    fetch = _FetchFeeds(HttpSettings(), str(tmp_path))
    fetch.setup()
    status, *entries, poll = fetch.process(str(feed))
    fetch.teardown()
    assert status.status == "fetched" and "damaged" in status.error and "read as a new feed" in status.error
    assert [e.entry_id for e in entries] == ["local-dam"]
    notes = []
    assert load(str(tmp_path), str(feed), damaged=notes.append)[0].seen == frozenset() and "damaged" in notes[0]
    feed_transforms._save_feed((str(feed), [poll, "id:local-dam"]), str(tmp_path))
    assert load(str(tmp_path), str(feed))[0].seen == {"id:local-dam"}


def test_a_streams_poll_reads_a_damaged_feed_file_as_a_new_feeds_and_replaces_it(tmp_path):
    save(str(tmp_path), FeedState("u", {}, 0, {"id:1": (1e9, 0)}))
    (tmp_path / "feeds" / f"{feed_state.feed_id('u')}.json").write_bytes(b"{")
    notes = []
    assert _PollFeed(HttpSettings(), str(tmp_path), 0.0, DAY)._recorded("u", None, notes) == frozenset()
    assert len(notes) == 1 and "damaged" in notes[0]
    assert load(str(tmp_path), "u")[0] == FeedState("u")  # replaced, though the poll read nothing (a 304)


def test_a_damaged_feed_file_with_a_streams_bundles_is_folded_at_run_start(tmp_path):
    record_ingested_keys(str(tmp_path), [("u", "id:1")], "bundle1")
    (tmp_path / "feeds" / f"{feed_state.feed_id('u')}.json").write_bytes(b"{")
    done = feed_state.settle(str(tmp_path), str(tmp_path), [])
    assert done["feed_files_damaged"] == 1 and load(str(tmp_path), "u")[0].seen == {"id:1"}


def damaged_bundle(state_dir, feed_url: str) -> str:
    """A bundle key file of ``feed_url`` that cannot be read (not UTF-8), beside a good one (``id:1``)."""
    record_ingested_keys(str(state_dir), [(feed_url, "id:1")], "good")
    path = os.path.join(feed_state.bundle_folder(str(state_dir), feed_url), "damaged.txt")
    with open(path, "wb") as handle:
        handle.write(b"id:2\n\xff\xfe cut")
    return path


def test_a_damaged_bundle_file_is_kept_when_a_run_starts_and_the_rest_folded(tmp_path, caplog):
    """Its keys are not known: deleted as folded, they would be lost and their entries ingested again."""
    damaged = damaged_bundle(tmp_path, "u")
    with caplog.at_level("WARNING", logger="transforms.feeds.state"):
        done = settle(str(tmp_path), str(tmp_path), [])
    assert done == {"feeds_migrated": 0, "feeds_folded": 1, "feed_files_damaged": 0, "bundle_files_kept": 1}
    assert os.listdir(os.path.dirname(damaged)) == ["damaged.txt"]  # the good one folded, the damaged one kept
    assert [r for r in caplog.records if "damaged.txt" in r.getMessage() and "kept" in r.getMessage()]
    notes = []
    assert load(str(tmp_path), "u", damaged=notes.append)[0].seen == {"id:1"} and "damaged.txt" in notes[0]


def test_a_streams_poll_keeps_a_damaged_bundle_file_and_folds_the_rest(tmp_path):
    damaged = damaged_bundle(tmp_path, "u")
    notes = []
    state, bundles = load(str(tmp_path), "u", damaged=notes.append)
    assert state.seen == {"id:1"} and damaged not in bundles and len(bundles) == 1 and "damaged.txt" in notes[0]
    error = feed_state.with_damage(FeedStatus("u", "fetched", dt.datetime.now(dt.UTC)), notes).error
    assert "kept, not folded" in error and "new feed" not in error  # the feed's own file was read
    save(str(tmp_path), polled(state, None, [], time.time()), folded=bundles)
    assert os.listdir(os.path.dirname(damaged)) == ["damaged.txt"]


# ----------------------------------------------------------------------- runs over a local feed file


def write_feed(path, keys: list[str]) -> None:
    items = [(f"local-{k}", f"https://local.example/{k}.html", STORIES[k][0], 1.7e9, story_html(k)) for k in keys]
    path.write_bytes(rss("Local News", items))


def feed_run(feed, output):
    result = run_pipeline(feed=[str(feed)], output=str(output), write_mode="append", quiet=True)
    assert result.committed, result.summary
    return result


def to_the_layout_before(state_dir) -> set[str]:
    """Rewrite a committed version's feed state as the release before issue 24 kept it (``feeds.json``,
    every key of every feed in one file); returns the keys."""
    seen, validators = set(), {}
    folder = os.path.join(state_dir, "feeds")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as handle:
            data = json.load(handle)
        seen |= set(data["entries"])
        validators[data["feed"]] = data["validators"]
        os.remove(os.path.join(folder, name))
    os.rmdir(folder)
    with open(os.path.join(state_dir, "feeds.json"), "w") as handle:
        json.dump({"validators": validators, "seen": sorted(seen)}, handle)
    return seen


def test_the_layout_before_is_migrated_in_the_runs_version_and_nothing_is_ingested_twice(tmp_path):
    feed, output = tmp_path / "local.xml", tmp_path / "out"
    write_feed(feed, ["dam", "ferry"])
    first = feed_run(feed, output)
    assert first.counts["articles"] == 2
    old = output / VERSIONS / first.run_id / "_state"
    keys = to_the_layout_before(old)
    assert keys == entry_keys("local-dam", "https://local.example/dam.html") | entry_keys(
        "local-ferry", "https://local.example/ferry.html"
    )

    write_feed(feed, ["dam", "ferry", "school"])
    second = feed_run(feed, output)
    assert second.counts["documents_read"] == 1 and second.counts["articles"] == 1  # only the school story
    new = output / VERSIONS / current_version(str(output)) / "_state"
    assert not (new / "feeds.json").exists() and (old / "feeds.json").exists()  # the version before untouched
    state, _ = load(str(new), str(feed))
    assert state.seen == keys | entry_keys("local-school", "https://local.example/school.html")
    assert len(table(output, "articles")) == 3


def test_a_failed_run_leaves_the_feed_state_it_started_from(tmp_path, monkeypatch):
    feed, output = tmp_path / "local.xml", tmp_path / "out"
    write_feed(feed, ["dam"])
    first = feed_run(feed, output)
    path = output / VERSIONS / first.run_id / "_state" / "feeds" / f"{feed_state.feed_id(str(feed))}.json"
    before = path.read_bytes()
    write_feed(feed, ["dam", "ferry"])
    monkeypatch.setattr("pipelines.run.commit", lambda *a: (_ for _ in ()).throw(RuntimeError("killed before the commit")))
    with pytest.raises(RuntimeError):
        run_pipeline(feed=[str(feed)], output=str(output), write_mode="append", quiet=True)
    assert current_version(str(output)) == first.run_id and path.read_bytes() == before


def test_settle_folds_what_a_stream_left_and_migrates_its_bundles_of_the_layout_before(tmp_path, monkeypatch):
    """A stream's bundle files (its feed's, and keys of a bundle staged by a release before, which carry
    no feed) are folded into the feeds' files when the next run starts; none is lost."""
    state = tmp_path / "_state"
    record_ingested_keys(str(state), [("https://a.example/feed", "id:1")], "b1")
    record_ingested_keys(str(state), [(None, "url:https://a.example/2")], "b0")  # the layout before
    rows = [("https://a.example/feed", "url:https://a.example/2")]
    monkeypatch.setattr(feed_state, "feed_keys_in_tables", lambda root: iter(rows))  # the tables' rows
    done = settle(str(state), str(tmp_path), [])
    assert done == {"feeds_migrated": 1, "feeds_folded": 1, "feed_files_damaged": 0, "bundle_files_kept": 0}
    assert load(str(state), "https://a.example/feed") == (load(str(state), "https://a.example/feed")[0], [])
    assert load(str(state), "https://a.example/feed")[0].seen == {"id:1", "url:https://a.example/2"}
    assert not (state / "ingested").exists() or not list((state / "ingested").iterdir())


def test_folding_never_deletes_a_file_of_the_version_it_starts_from(tmp_path):
    """On an object store a version's state lists its base's files without copying them: a fold drops such
    a file from the version (``removed``), never from the base."""
    base = tmp_path / "_versions" / "r1" / "_state"
    record_ingested_keys(str(base), [("u", "id:1")], "b1")
    [kept] = [str(p) for p in base.rglob("*.txt")]
    here = str(tmp_path / "_versions" / "r2" / "_state")
    save(here, FeedState("u", {}, 0, {"id:1": (1e9, 0)}), folded=[kept])
    assert os.path.exists(kept)
    assert view.in_version("s3://b/o/_versions/r1/_state/feeds/x/b1.txt", "s3://b/o/_versions/r2/_state") == (
        "s3://b/o/_versions/r2/_state/feeds/x/b1.txt"
    )


def test_a_status_row_names_every_damaged_file():
    status = FeedStatus("https://example.com/feed.xml", "fetched", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    damage = ["feeds/abc.json: not JSON", f"feeds/abc/bundle-1.txt: not UTF-8: {feed_state.KEPT}"]
    error = feed_state.with_damage(status, damage).error
    assert "feeds/abc.json: not JSON: read as a new feed's" in error
    assert error.endswith(f"feeds/abc/bundle-1.txt: not UTF-8: {feed_state.KEPT}")
