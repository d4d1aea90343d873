"""The wheel as a user gets it: built from the repository, installed (not editable) into a fresh venv with the
locked set, run on the seeds from a folder outside the repository. What the wheel lacks (a data file, a
module) shows here, not on a scheduler.

uv runs offline on its default cache: `make` installs the lock with the same uv and cache, so every locked
wheel (and the build backend, setuptools, which the lock pins) is there; nothing is fetched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.cli import ROOT, SEEDS, summary_numbers

pytestmark = pytest.mark.slow

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
WHEEL = f"{PROJECT['name'].replace('-', '_')}-{PROJECT['version']}-py3-none-any.whl"
LOCK = ROOT / "requirements.lock"
CACHE_MISS = ("network was disabled", "network connectivity is disabled")  # uv's words when --offline meets a cold cache


def uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m uv ARGS --offline``, failing the test with uv's own words; a cold cache is a skip."""
    process = subprocess.run(
        [sys.executable, "-m", "uv", *args, "--offline"], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    if process.returncode and any(hint in process.stderr.lower() for hint in CACHE_MISS):
        pytest.skip(f"uv's cache lacks a locked package (install the project with `make` first): {process.stderr[-300:]}")
    assert process.returncode == 0, f"uv {' '.join(args)}:\n{process.stderr}"
    return process


def outside_env() -> dict[str, str]:
    """The environment without anything pointing back at the repository or its venv."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> tuple[Path, Path]:
    """(the built wheel, the python of a fresh venv holding the locked set and that wheel)."""
    pytest.importorskip("uv", reason="uv is not installed in this venv (`make` installs it)")
    assert LOCK.is_file(), "requirements.lock is missing (`make lock` writes it)"
    place = tmp_path_factory.mktemp("wheel")
    # `uv build` makes the sdist, then the wheel from the sdist: a stale file of a build/ folder cannot slip in.
    uv("build", "--python", sys.executable, "--build-constraint", str(LOCK), "--out-dir", str(place / "dist"), str(ROOT))
    wheel = place / "dist" / WHEEL
    assert wheel.is_file(), sorted(p.name for p in (place / "dist").iterdir())
    venv = place / "venv"
    uv("venv", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    uv("pip", "sync", "--python", str(python), str(LOCK))
    uv("pip", "install", "--python", str(python), "--no-deps", str(wheel))
    return wheel, python


def test_wheel_holds_every_tracked_file_of_its_packages(wheel_venv):
    wheel, _ = wheel_venv
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the tracked files are unknown")
    tracked = subprocess.run(
        ["git", "ls-files", "pipelines", "transforms"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    packaged = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    missing, stray = sorted(set(tracked) - packaged), sorted(packaged - set(tracked))
    assert not missing, f"tracked but not in the wheel (package data in pyproject?): {missing}"
    assert not stray, f"in the wheel but not tracked: {stray}"


def test_locked_set_and_wheel_are_consistent(wheel_venv):
    _, python = wheel_venv
    process = uv("pip", "check", "--python", str(python))
    assert "All installed packages are compatible" in process.stdout + process.stderr


def test_wheel_runs_the_seeds_outside_the_repository(wheel_venv, tmp_path):
    _, python = wheel_venv
    seeds, elsewhere, output = tmp_path / "seeds", tmp_path / "elsewhere", tmp_path / "output"
    shutil.copytree(SEEDS, seeds)
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import pipelines, transforms; print(pipelines.__file__); print(transforms.__file__)"],
        cwd=elsewhere, env=outside_env(), capture_output=True, text=True, check=True,
    ).stdout.split()
    venv = python.parent.parent
    assert all(Path(path).is_relative_to(venv) for path in where), where  # the wheel's modules, not the repository's

    process = subprocess.run(
        [str(python), "-m", "pipelines.run", "--runner=DirectRunner", "--input", f"{seeds}/*", "--output", str(output)],
        cwd=elsewhere, env=outside_env(), capture_output=True, text=True, timeout=900,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "committed" in process.stdout
    numbers = summary_numbers(process.stdout)
    assert (numbers["documents read"], numbers["articles written"], numbers["duplicates"], numbers["errors"]) == (5, 4, 1, 0)
    manifest = json.loads((output / "_manifest.json").read_text())
    assert (manifest["rows"]["articles"], manifest["rows"]["duplicates"], manifest["rows"]["errors"]) == (4, 1, 0)
    assert manifest["rows"]["entities"] > 0
    report = subprocess.run(  # the page's template is package data: read from the installed wheel
        [str(python), "-m", "pipelines.report", str(output), "--out", str(tmp_path / "report.html")],
        cwd=elsewhere, env=outside_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "Most syndicated stories" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_flex_template_entry_file_runs_the_wheel(wheel_venv, tmp_path):
    """deploy/dataflow/main.py is what the Flex Template launcher runs: with the wheel alone, it is the command."""
    _, python = wheel_venv
    process = subprocess.run(
        [str(python), str(ROOT / "deploy" / "dataflow" / "main.py"), "--help"],
        cwd=tmp_path, env=outside_env(), capture_output=True, text=True, timeout=300,
    )
    assert process.returncode == 0, process.stderr
    assert "--input" in process.stdout and "--output" in process.stdout
