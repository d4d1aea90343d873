"""Extraction quality on the shared dev sets, through bench.extraction_eval (skipped where ../shared is
absent, as in a user's clone). The bounds guard against regressions; the figures are in docs/extraction.md."""

import re
import subprocess
import sys

import pytest

from tests.support.cli import ROOT, SHARED

EVAL = SHARED / "eval"


@pytest.mark.skipif(not (EVAL / "extraction-dev" / "ground-truth.json").exists(), reason="shared dev sets not present")
def test_figures_hold():
    out = subprocess.run(
        [sys.executable, "-m", "bench.extraction_eval", "--eval", str(EVAL)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    ).stdout
    html = float(re.search(r"ours: html \(consensus body\)\s+\S+\s+\S+\s+(\S+)\s+(\d+)", out).group(1))
    renderings = [
        (float(f), int(e))
        for f, e in re.findall(r"ours, --boilerplate auto \(shipped settings\)\s+\S+\s+\S+\s+(\S+)\s+(\d+)", out)
    ]
    kept = re.findall(r"ours, --boilerplate auto\s+kept (\d+)/(\d+)", out)
    assert html >= 0.965, out
    assert len(renderings) == 2 and all(f >= 0.89 and empty == 0 for f, empty in renderings), out
    assert all(a == b for a, b in kept) and len(kept) == 2, out
    assert "with all words 216/216" in out, out
