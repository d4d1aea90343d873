"""Background services for tests, on 127.0.0.1 only, stopped (with their children) after use."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


@contextlib.contextmanager
def service(*args: str, port: int | None = None, log: str | None = None):
    """Run a command in its own process group; wait for ``port`` if given; kill the group at the end.
    ``log``: a file that takes its output (a server's request log, for a benchmark's counts)."""
    env = dict(
        os.environ,
        PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),  # Beam's worker pool starts `python` from PATH
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    )
    sink = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=sink, stderr=sink, start_new_session=True)
    try:
        if port is not None:
            wait_for_port(port, process)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        process.wait(timeout=30)
        if log:
            sink.close()


@contextlib.contextmanager
def dask_cluster(workers: int = 2):
    """A Dask scheduler and ``workers`` single-threaded worker processes; yields the scheduler address."""
    port = free_port()
    common = ("--no-dashboard", "--host", "127.0.0.1")
    with service(sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port), *common, port=port):
        address = f"127.0.0.1:{port}"
        with service(
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            f"tcp://{address}",
            "--nworkers",
            str(workers),
            "--nthreads",
            "1",
            *common,
        ):
            from distributed import Client

            with Client(address, timeout=60) as client:
                client.wait_for_workers(workers, timeout=60)
            yield address
