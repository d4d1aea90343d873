"""The command line in a subprocess, and what it wrote, read back."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from transforms.write import TABLES

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
SHARED = Path(os.environ.get("NEWS_SHARED", ROOT.parent / "shared"))  # a worktree elsewhere can point at it


def run_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """The command line in a subprocess; DirectRunner unless the arguments name another runner."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runner = [] if any(a.startswith("--runner") for a in args) else ["--runner=DirectRunner"]
    return subprocess.run(
        [sys.executable, "-m", "pipelines.run", *runner, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_command(*args: str) -> subprocess.CompletedProcess:
    """What ``run_cli`` returns, in-process (``pipelines.run.main``): the command without the launch (seconds of
    imports before any work). For a test of what the command does, not of the process (a signal, a pipe,
    another interpreter); an exception ends it as it ends the process, status 1 and the traceback on stderr.
    A test that calls it is in the full tier (tests/conftest.py), as a whole run is."""
    from pipelines.run import main

    argv = ([] if any(a.startswith("--runner") for a in args) else ["--runner=DirectRunner"]) + list(args)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # run_cli's cwd
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except Exception:
            traceback.print_exc()
            status = 1
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


def summary_numbers(stdout: str) -> dict[str, int]:
    """The run summary's counts, by label."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^([a-z][a-z ()0-9]*?)\s+(\d+)$", stdout, re.M)}


def table(output: Path, name: str) -> list[dict]:
    return ds.dataset(output / name, partitioning="hive").to_table().to_pylist()


def dataset_rows(output) -> dict[str, list]:
    """Every table's rows, sorted, as a reader that globs the files sees them."""
    result = {}
    for name in TABLES:
        query = f"select * from read_parquet('{output}/{name}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        result[name] = sorted(map(repr, duckdb.sql(query).fetchall()))
    return result
