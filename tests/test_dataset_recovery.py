"""A damaged dataset is refused with one line and a repair, never answered by deleting versions; state kept
outside OUTPUT (``--state-dir``) commits and rolls back with the run; damaged state, a read-only output and
a broken stats file give one line, not a traceback (issue 22, items 4, 5, 13 and 15)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile

import pytest

import pipelines.run as run_module
from pipelines.compact import main as compact
from pipelines.repair import main as repair
from pipelines.report.__main__ import main as report
from pipelines.run import main as run
from tests.support.cli import SEEDS, summary_numbers
from transforms.feeds.state import FeedState, load, save
from transforms.files import read_key_sets
from transforms.write.commit import CURRENT, VERSIONS, Version, abandon, begin, current_version
from transforms.write.tables import commit

SEED = str(SEEDS / "002*")


def committed(output, run_id: str, finished_at: str, state_dir=None, append=False) -> Version:
    """A committed version with empty tables (no pipeline run): what a dataset looks like on disk."""
    version = begin(str(output), run_id, append=append, state_dir=state_dir)
    commit(version, {"run_id": run_id, "finished_at": finished_at})
    return version


def versions(output) -> list[str]:
    return sorted(os.listdir(os.path.join(output, VERSIONS)))


def last_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "nothing said on stderr"
    assert not any(line.startswith("Traceback") for line in err), "\n".join(err)
    return err[-1]


# item 4: the pointer


def break_pointer(output, how: str) -> None:
    pointer = os.path.join(output, CURRENT)
    os.remove(pointer)
    if how == "dangling":
        os.symlink(os.path.join(VERSIONS, "gone"), pointer)
    elif how == "folder":
        os.mkdir(pointer)
    elif how == "file":
        with open(pointer, "w"):
            pass
    elif how == "elsewhere":
        os.symlink(os.path.join(output, VERSIONS, "r2", "articles"), pointer)


@pytest.mark.parametrize("how", ["missing", "dangling", "folder", "file", "elsewhere"])
def test_a_broken_pointer_is_refused_then_repaired_and_no_version_is_deleted(tmp_path, capsys, how):
    output = tmp_path / "out"
    committed(output, "r1", "2024-01-01T00:00:00+00:00")
    committed(output, "r2", "2024-01-02T00:00:00+00:00")
    os.makedirs(output / VERSIONS / "r3")  # a run killed before its commit
    break_pointer(output, how)
    before = versions(output)

    assert run(["--input", SEED, "--output", str(output), "-q"]) == 2
    line = last_line(capsys)
    assert "_current" in line and "python -m pipelines.repair" in line
    assert versions(output) == before  # nothing deleted
    assert compact([str(output)]) == 2 and "python -m pipelines.repair" in last_line(capsys)
    assert versions(output) == before

    assert repair([str(output)]) == 0
    assert current_version(str(output)) == "r2"  # the newest committed version, by its manifest
    assert os.path.isdir(output / "articles")
    if how in ("folder", "file"):  # what stood in the pointer's place is moved aside, not deleted
        assert [n for n in os.listdir(output) if n.startswith(f"{CURRENT}.broken")]
    begin(str(output), "r4", append=True)  # runs work again
    assert current_version(str(output)) == "r2"


def test_repair_refuses_when_no_version_was_committed(tmp_path, capsys):
    output = tmp_path / "out"
    os.makedirs(output / VERSIONS / "r1")  # a first run, killed
    assert repair([str(output)]) == 2
    assert "no committed version" in last_line(capsys)


def test_a_new_output_and_one_whose_first_run_was_killed_keep_working(tmp_path):
    output = tmp_path / "out"
    begin(str(output), "r1", append=False)  # killed before it committed: no pointer, no _SUCCESS
    committed(output, "r2", "2024-01-02T00:00:00+00:00")
    assert versions(output) == ["r2"] and current_version(str(output)) == "r2"


def test_stray_pointer_links_from_a_killed_publish_are_removed(tmp_path):
    output = tmp_path / "out"
    committed(output, "r1", "2024-01-01T00:00:00+00:00")
    stray = output / f".{CURRENT}.0123abcd"
    os.symlink(os.path.join(VERSIONS, "r1"), stray)
    begin(str(output), "r2", append=True)
    assert not os.path.lexists(stray)


# item 5: state outside OUTPUT


def test_an_overwrite_rerun_with_an_outside_state_dir_ingests_everything_again(tmp_path, capsys):
    output, state = tmp_path / "out", tmp_path / "state"
    arguments = ["--input", str(SEEDS / "*"), "--output", str(output), "--state-dir", str(state), "--runner=DirectRunner", "-q"]
    assert run(arguments) == 0
    first = summary_numbers(capsys.readouterr().out)
    assert first["documents read"] == 5
    assert run(arguments) == 0
    second = summary_numbers(capsys.readouterr().out)
    assert second["documents read"] == 5 and second["articles written"] == first["articles written"]
    append = run([*arguments, "--write_mode", "append"])
    assert append == 0 and summary_numbers(capsys.readouterr().out)["files skipped (seen)"] == 5


def test_a_run_killed_before_its_commit_leaves_no_state_behind(tmp_path, capsys, monkeypatch):
    output, state = tmp_path / "out", tmp_path / "state"
    arguments = ["--input", SEED, "--output", str(output), "--state-dir", str(state), "--runner=DirectRunner", "-q"]

    def killed(*_):
        raise SystemExit(137)  # SIGKILL: nothing after this point runs, not even the clean-up

    monkeypatch.setattr(run_module, "commit", killed)  # the run is killed as its commit begins
    monkeypatch.setattr(run_module, "abandon", lambda version: None)
    with pytest.raises(SystemExit):
        run([*arguments, "--write_mode", "append"])
    monkeypatch.undo()
    capsys.readouterr()
    assert run([*arguments, "--write_mode", "append"]) == 0
    assert summary_numbers(capsys.readouterr().out)["documents read"] == 1  # not skipped as seen


def test_outside_state_is_versioned_with_the_run_and_rolled_back_by_abandon(tmp_path):
    output, state = tmp_path / "out", str(tmp_path / "state")
    first = committed(output, "r1", "2024-01-01T00:00:00+00:00", state_dir=state)
    os.makedirs(first.state, exist_ok=True)
    save(first.state, FeedState("u", {}, 1, {"a": (1e9, 1)}))
    failed = begin(str(output), "r2", append=True, state_dir=state)
    assert load(failed.state, "u")[0].seen == {"a"}  # starts from the committed state
    save(failed.state, FeedState("u", {}, 1, {"a": (1e9, 1), "b": (1e9, 1)}))  # as a run saves it: a new file, renamed into place
    abandon(failed)
    assert not os.path.exists(failed.state)
    assert load(first.state, "u")[0].seen == {"a"}
    third = begin(str(output), "r3", append=True, state_dir=state)
    assert load(third.state, "u")[0].seen == {"a"}


def test_compaction_carries_outside_state(tmp_path, capsys):
    output, state = tmp_path / "out", str(tmp_path / "state")
    first = committed(output, "r1", "2024-01-01T00:00:00+00:00", state_dir=state)
    os.makedirs(os.path.join(first.state, "files"))
    for n in range(3):
        with open(os.path.join(first.state, "files", f"{n}.txt"), "w") as handle:
            handle.write(f"key{n}\n")
    assert compact([str(output)]) == 0
    after = current_version(str(output))
    files = os.path.join(state, VERSIONS, after, "files")
    assert [sorted(read_key_sets(files))] == [["key0", "key1", "key2"]] and len(os.listdir(files)) == 1


# item 15: one line, not a traceback


@pytest.mark.parametrize("name", ["files/0a.txt", "feeds.json"])
def test_a_state_file_that_is_not_utf8_is_named_in_one_line(tmp_path, capsys, name):
    output = tmp_path / "out"
    version = committed(output, "r1", "2024-01-01T00:00:00+00:00")
    path = os.path.join(version.state, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b'{"seen": ["caf\xe9"]}\n' if name.endswith(".json") else b"abc\xff\xfe\n")
    assert run(["--input", SEED, "--output", str(output), "--write_mode", "append", "-q"]) == 2
    line = last_line(capsys)
    assert name.split("/")[-1] in line and "UTF-8" in line
    assert versions(output) == ["r1"]


@contextlib.contextmanager
def read_only(folder):
    """``folder`` and everything in it not writable, for this process too (root ignores mode bits: it
    becomes nobody for the duration)."""
    for parent, folders, files in os.walk(folder):
        for name in [*folders, *files, "."]:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    root = os.geteuid() == 0
    if root:
        os.seteuid(65534)
    try:
        yield
    finally:
        if root:
            os.seteuid(0)
        for parent, folders, _ in os.walk(folder):
            for name in [*folders, "."]:
                os.chmod(os.path.join(parent, name), 0o755)


@pytest.fixture
def shared_tmp():
    """A folder other users can read (a pytest tmp_path is root's alone)."""
    folder = tempfile.mkdtemp(prefix="readonly-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_compact_and_report_on_a_read_only_output_say_one_line(shared_tmp, capsys):
    output = os.path.join(shared_tmp, "out")
    committed(output, "r1", "2024-01-01T00:00:00+00:00")
    with read_only(output):
        assert compact([output]) == 2
        assert "not writable" in last_line(capsys) or "read-only" in last_line(capsys)
        assert report([output]) in (1, 2)
        assert "report.html" in last_line(capsys)
    assert versions(output) == ["r1"]


# item 13: the report and a broken stats file


def test_the_report_skips_a_truncated_stats_file_with_a_warning(tmp_path, capsys, caplog):
    output = tmp_path / "out"
    committed(output, "r1", "2024-01-01T00:00:00+00:00")
    runs = output / "_runs"
    runs.mkdir()
    (runs / "good.json").write_text(json.dumps({"run_id": "good", "status": "committed", "started_at": "2024-01-01"}))
    (runs / "cut.json").write_text('{"run_id": "cut", "sta')
    (runs / "bytes.json").write_bytes(b'{"run_id": "\xff"}')
    assert report([str(output), "--out", str(tmp_path / "r.html")]) == 0
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "cut.json" in warned and "bytes.json" in warned and "Traceback" not in capsys.readouterr().err
    assert "good" in (tmp_path / "r.html").read_text()


def test_a_state_dir_written_before_state_was_versioned_is_the_starting_state(tmp_path):
    output, state = tmp_path / "out", tmp_path / "state"
    old = begin(str(output), "r1", append=False)
    commit(old, {"run_id": "r1", "options": {"state_dir": str(state)}})
    manifest = json.loads((output / VERSIONS / "r1" / "_manifest.json").read_text())
    del manifest["state_dir"]  # as the pipeline wrote it then: the option only
    (output / VERSIONS / "r1" / "_manifest.json").write_text(json.dumps(manifest))
    (state / "files").mkdir(parents=True)
    (state / "files" / "old.txt").write_text("path|digest\n")
    version = begin(str(output), "r2", append=True, state_dir=str(state))
    assert read_key_sets(os.path.join(version.state, "files")) == {"path|digest"}
    assert (state / "files" / "old.txt").exists()  # left as it was


def test_dropping_the_state_dir_later_carries_the_state_into_the_version(tmp_path):
    output, state = tmp_path / "out", str(tmp_path / "state")
    first = committed(output, "r1", "2024-01-01T00:00:00+00:00", state_dir=state)
    (tmp_path / "state" / VERSIONS / "r1" / "files").mkdir(parents=True)
    (tmp_path / "state" / VERSIONS / "r1" / "files" / "a.txt").write_text("key\n")
    version = begin(str(output), "r2", append=True)  # no --state-dir this time
    assert version.state == os.path.join(str(output), VERSIONS, "r2", "_state")
    assert read_key_sets(os.path.join(version.state, "files")) == {"key"}
    assert os.path.isdir(first.state)  # the committed one's state stays until its version goes
