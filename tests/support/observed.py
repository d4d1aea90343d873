"""A corpus of about a hundred documents with some bad inputs, and one multi-process run of it, shared by the
progress, stats and report tests (one run of ~15 s instead of one per test)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.corpus import generate

DOCUMENTS = 120  # enough that reading spans several progress lines; every kind of error is among the few below


def corpus_with_errors(folder: Path) -> Path:
    """``DOCUMENTS`` synthetic news documents, plus inputs that must become error rows of a few reasons."""
    generate(DOCUMENTS, folder, seed=14)
    (folder / "empty-1.txt").write_bytes(b"")
    (folder / "empty-2.txt").write_bytes(b"")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not a news document")
    (folder / "broken.jsonl").write_text('{"text": "fine words"\n[1, 2]\n')
    return folder


def multiprocess_run(folder: Path, output: Path):
    """The command on two worker processes; returns the finished process."""
    return run_cli(
        "--input",
        f"{folder}/*",
        "--output",
        str(output),
        "--direct_num_workers=2",
        "--direct_running_mode=multi_processing",
    )


def run_stats(output: Path) -> dict:
    (path,) = sorted((output / "_runs").glob("*.json"))
    return json.loads(path.read_text())
