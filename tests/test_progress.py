"""Live progress: worker tallies in files, summed and printed on stderr while a run runs."""

from __future__ import annotations

import io
import os
import re

from pipelines.progress import InputSize, Progress, input_size, progress_line
from tests.support.cli import SEEDS, run_command
from tests.support.observed import DOCUMENTS
from transforms import progress as tallies

LINE = re.compile(r"^\[\d+(?:s|m\d\ds|h\d\dm)\] read (?P<read>[\d,]+) \((?P<files>[\d,]+)/(?P<total>[\d,]+) files\) · parsed")


def test_progress_line_counts_every_stage_and_gives_an_eta():
    counts = {
        "read/documents": 40,
        "read/errors": 2,
        "read/files": 25,
        "parse/articles": 30,
        "parse/errors": 1,
        "clean/articles": 29,
    }
    line = progress_line(counts, 10.0, InputSize(files=100, bytes=10_000))
    assert line.startswith("[10s] read 42 (25/100 files) · parsed 30 · cleaned 29 · deduplicated 0 (+0 dup) · tagged 0")
    assert "errors 3" in line and "4.2 docs/s" in line and "ETA read 30s" in line


def test_tallies_reach_the_folder_and_sum_over_processes(tmp_path, monkeypatch):
    monkeypatch.setenv(tallies.PROGRESS_ENV, str(tmp_path))
    tallies.reset()
    try:
        tallies.tally("parse", "articles", 3)
        tallies.flush()
        (tmp_path / "99999999.json").write_text('{"parse/articles": 4, "tag/articles": 1}')  # another worker's
        assert tallies.read_tallies(str(tmp_path)) == {"parse/articles": 7, "tag/articles": 1}
    finally:
        tallies.reset()


def test_display_in_a_terminal_rewrites_one_line(tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with Progress(InputSize(files=2), stream=stream) as progress:
        assert os.environ[tallies.PROGRESS_ENV] == progress.folder
        tallies.tally("read", "documents", 5)
        progress.finish({("read", "documents"): 5, ("read", "files"): 2})
    assert tallies.PROGRESS_ENV not in os.environ and not os.path.exists(progress.folder)
    text = stream.getvalue()
    assert text.startswith("\r[") and text.endswith("\n") and text.count("\n") == 1
    assert "read 5 (2/2 files)" in text


def test_input_size_counts_distinct_files():
    size = input_size([f"{SEEDS}/*", f"{SEEDS}/*.txt"])
    assert size.files == 5 and size.bytes == sum(p.stat().st_size for p in SEEDS.iterdir())


def test_progress_on_stderr_from_worker_processes(observed_run):
    """Two worker processes: the counts come from their tally files, as the run goes."""
    process, _ = observed_run
    assert process.returncode == 0, process.stderr
    lines = [m for m in map(LINE.match, process.stderr.splitlines()) if m]
    assert len(lines) >= 3, process.stderr  # the first reads, stage starts, the end
    reads = [int(m["read"].replace(",", "")) for m in lines]
    assert reads == sorted(reads) and reads[0] < reads[-1]
    assert reads[-1] == DOCUMENTS + 5  # the corpus, two empty files, one unsupported, two JSONL lines
    assert lines[-1]["files"] == lines[-1]["total"]
    assert re.search(r"tagged [1-9]", process.stderr) and "docs/s" in lines[-1].string
    assert "sdk_worker" not in process.stderr  # the workers' harness logs stay off without -vv


def test_quiet_prints_no_progress(tmp_path):
    process = run_command("--output", str(tmp_path / "out"), "-q")
    assert process.returncode == 0, process.stderr
    assert not [line for line in process.stderr.splitlines() if line.startswith("[")], process.stderr
    assert "documents read" in process.stdout
