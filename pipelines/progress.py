"""Progress on stderr while a job runs: documents read (of the total, with an ETA, when the input is
files), parsed, cleaned, deduplicated, tagged, written, errors, docs/s.

Workers tally their stage counters into files (``transforms.progress``); a thread here sums them every
``POLL_SECONDS`` and prints a line every ``interval`` seconds, and at once when a stage starts counting
(the stage boundaries). In a terminal the line is rewritten in place (``\\r``); in a log each update is a
plain line, less often.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Optional, TextIO

from apache_beam.io.filesystems import FileSystems

from transforms import progress as tallies
from transforms.schema import CLEAN, DEDUPE, ERROR_STAGES, FETCH, PARSE, READ, TAG, WRITE

POLL_SECONDS = 0.5
TTY_INTERVAL, LOG_INTERVAL = 2.0, 5.0
ETA_AFTER = 50  # an ETA once 1/50 of the files are read


@dataclasses.dataclass(frozen=True)
class InputSize:
    """What the run will read, counted before it starts: matched files and their bytes."""

    files: int = 0
    bytes: int = 0


def input_size(patterns: list[str]) -> InputSize:
    """Distinct files matched by the globs (a file matched twice is read once, as ``ReadDocuments`` does)."""
    if not patterns:
        return InputSize()
    sizes: dict[str, int] = {}
    for result in FileSystems.match(list(patterns)):
        for metadata in result.metadata_list:
            sizes[metadata.path] = metadata.size_in_bytes
    return InputSize(len(sizes), sum(sizes.values()))


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def progress_line(counts: dict[str, int], elapsed: float, size: InputSize = InputSize()) -> str:
    """One update from the summed tallies (``stage/name`` -> count)."""

    def get(stage: str, name: str) -> int:
        return counts.get(f"{stage}/{name}", 0)

    read = get(READ, "documents") + get(READ, "errors") + get(FETCH, "documents")
    files_done = get(READ, "files") + get(READ, "skipped") + get(READ, "special")
    parts = [f"read {read:,}"]
    eta = ""
    if size.files:
        parts[0] += f" ({files_done:,}/{size.files:,} files)"
        if 0 < files_done < size.files and files_done * ETA_AFTER >= size.files:  # the first files carry start-up
            eta = f" · ETA read {_duration(elapsed * (size.files - files_done) / files_done)}"
    errors = sum(get(stage, "errors") for stage in ERROR_STAGES)
    parts += [
        f"parsed {get(PARSE, 'articles'):,}",
        f"cleaned {get(CLEAN, 'articles'):,}",
        f"deduplicated {get(DEDUPE, 'articles'):,} (+{get(DEDUPE, 'duplicates'):,} dup)",
        f"tagged {get(TAG, 'articles'):,}",
        f"written {get(WRITE, 'articles') + get(WRITE, 'duplicates') + get(WRITE, 'errors'):,}",
        f"errors {errors:,}",
        f"{read / elapsed if elapsed > 0 else 0:.1f} docs/s",
    ]
    tagged, deduplicated = get(TAG, "articles") + get(TAG, "errors"), get(DEDUPE, "articles")
    if not eta and 0 < tagged < deduplicated and size.files and files_done >= size.files:
        eta = f" · tagging {100 * tagged // deduplicated}%"
    return f"[{_duration(elapsed)}] " + " · ".join(parts) + eta


def started_stages(counts: dict[str, int]) -> set[str]:
    return {key.split("/", 1)[0] for key, value in counts.items() if value}


class Progress:
    """A context manager around ``pipeline.run()``: sets the tally folder for workers, prints updates."""

    def __init__(self, size: InputSize = InputSize(), stream: Optional[TextIO] = None, enabled: bool = True):
        self.size, self.stream, self.enabled = size, stream or sys.stderr, enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = TTY_INTERVAL if self.tty else LOG_INTERVAL
        self.folder: Optional[str] = None
        self.lines = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._previous_env: Optional[str] = None

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        self.folder = tempfile.mkdtemp(prefix="news-progress-")
        self._previous_env = os.environ.get(tallies.PROGRESS_ENV)
        os.environ[tallies.PROGRESS_ENV] = self.folder
        tallies.reset()
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._watch, name="progress-display", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join()
        if self.tty and self.lines:
            self.stream.write("\n")
            self.stream.flush()
        tallies.reset()
        if self._previous_env is None:
            os.environ.pop(tallies.PROGRESS_ENV, None)
        else:
            os.environ[tallies.PROGRESS_ENV] = self._previous_env
        shutil.rmtree(self.folder, ignore_errors=True)

    def _watch(self) -> None:
        stages: set[str] = set()
        last = self.started
        while not self._stop.wait(POLL_SECONDS):
            counts = tallies.read_tallies(self.folder)
            now_started = started_stages(counts)
            if now_started - stages or time.perf_counter() - last >= self.interval:
                self._print(counts)
                stages, last = now_started, time.perf_counter()

    def finish(self, totals: dict[tuple[str, str], int]) -> None:
        """The last update, from the job's own counters (a worker's file may be a second behind)."""
        if self.enabled and self._thread:
            self._stop.set()
            self._thread.join()
            self._print({f"{stage}/{name}": value for (stage, name), value in totals.items()})

    def _print(self, counts: dict[str, int]) -> None:
        line = progress_line(counts, time.perf_counter() - self.started, self.size)
        if self.tty:
            width = shutil.get_terminal_size((160, 20)).columns
            self.stream.write("\r" + line[: width - 1].ljust(width - 1))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.lines += 1
