"""Live counts for the progress display, from every worker process.

Beam's counters reach the main process only when a job ends on the FnApiRunner, so each stage counter
(``stage.counter``) also adds to a tally kept in its own process, and a daemon thread in that process
writes the tally, whole, every ``FLUSH_SECONDS`` to ``<folder>/<pid>.json`` (write, then rename: a reader
never sees half a file). The main process sums the files (``pipelines.progress``). The folder is named by
the environment variable ``PROGRESS_ENV``, which multi-process DirectRunner workers inherit; without it
nothing is tallied. The counts are for display only: a retried bundle counts twice here, never in the
summary, which reads Beam's committed counters.
"""

from __future__ import annotations

import collections
import json
import os
import threading

PROGRESS_ENV = "NEWS_INGEST_PROGRESS_DIR"
FLUSH_SECONDS = 1.0

_tally: collections.Counter = collections.Counter()
_state = {"folder": None, "pid": None, "thread": None}
_lock = threading.Lock()


def tally(stage: str, name: str, n: int = 1) -> None:
    """Add ``n`` to this process's count of (stage, name); cheap enough for every element."""
    if _state["pid"] != os.getpid():
        _start()
    if _state["folder"]:
        _tally[f"{stage}/{name}"] += n


def _start() -> None:
    with _lock:
        if _state["pid"] == os.getpid():
            return
        _tally.clear()  # a forked child starts from zero: its parent's counts are in the parent's file
        _state.update(folder=os.environ.get(PROGRESS_ENV), pid=os.getpid())
        if _state["folder"]:
            thread = threading.Thread(target=_flush_every, args=(_state["folder"],), name="progress", daemon=True)
            _state["thread"] = thread
            thread.start()


def _flush_every(folder: str) -> None:
    written: dict = {}
    event = threading.Event()
    while not event.wait(FLUSH_SECONDS) and _state["folder"] == folder:
        written = flush(folder, written)


def reset() -> None:
    """Forget this process's tally and folder: the next count reads ``PROGRESS_ENV`` again (a notebook
    that runs one job after another, in one process)."""
    with _lock:
        _tally.clear()
        _state.update(folder=None, pid=None, thread=None)


def flush(folder: str | None = None, written: dict | None = None) -> dict:
    """Write this process's tally when it changed since ``written``; returns what was written."""
    folder = folder or _state["folder"]
    snapshot = dict(_tally)
    if not folder or snapshot == written or not os.path.isdir(folder):
        return written or {}
    path = os.path.join(folder, f"{os.getpid()}.json")
    temporary = f"{path}.tmp"
    try:
        with open(temporary, "w") as handle:
            json.dump(snapshot, handle)
        os.replace(temporary, path)
    except OSError:  # the run ended and its folder went away: nothing to report to
        return written or {}
    return snapshot


def read_tallies(folder: str) -> dict[str, int]:
    """The sum of every process's last written tally under ``folder``."""
    total: collections.Counter = collections.Counter()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".json")]
    except OSError:
        return {}
    for name in names:
        try:
            with open(os.path.join(folder, name)) as handle:
                total.update(json.load(handle))
        except (OSError, ValueError):
            continue  # replaced between listing and reading: the next read has it
    return dict(total)
