"""A streaming job in-process, stopped on an event instead of after a fixed time: a loaded machine stretches
any duration (a job slow to start polled once where the test needed three), and an idle one waits it out."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.options import NewsPipelineOptions, RunSettings, settings
from pipelines.streaming import stop_file
from tests.support.cli import run_command
from transforms.write.commit import VERSIONS, current_version

BOUND = "90s"  # --run-for: a job whose events never come still ends; the test's assertions then say what was missing


def _version(output: Path) -> str | None:
    try:
        return current_version(str(output))
    except Exception:  # not laid out yet
        return None


@contextlib.contextmanager
def stop_after(output: Path, *steps: Callable[[], bool], state_dir: str | None = None, timeout: float = 120):
    """While the block runs a stream on ``output``: wait for each step in turn (a callable that says whether
    its event happened; it may act once it has, e.g. grow a feed), then stop the stream as SIGTERM does,
    through its stop file (``pipelines.streaming.stop_file``: in its state, with ``--state-dir`` there,
    ``state_dir``): it writes what is pending and ends."""
    before, done = _version(output), threading.Event()

    def watch():
        deadline, pending = time.monotonic() + timeout, list(steps)
        while not done.is_set() and time.monotonic() < deadline:
            run_id = _version(output)
            while run_id not in (None, before) and pending and pending[0]():
                pending.pop(0)
            if run_id not in (None, before) and not pending:
                stop = Path(stop_file(RunSettings(state_dir=state_dir), str(output / VERSIONS / run_id), run_id))
                stop.parent.mkdir(parents=True, exist_ok=True)
                stop.write_text("stop\n")
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        for signum, handler in handlers.items():  # the job's own (stop_on_signals), gone with the job
            signal.signal(signum, handler)


def run_stream(output: Path, args: list[str], *steps: Callable[[], bool]):
    """The command (``--streaming`` among ``args``) in-process, stopped once ``steps`` happened in turn."""
    state_dir = settings(NewsPipelineOptions(args), RunSettings).state_dir  # read as the command reads it
    with stop_after(output, *steps, state_dir=state_dir):
        return run_command(*args, "--run-for", BOUND)
