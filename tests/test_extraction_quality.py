"""Extraction quality on the shared dev set (skipped where ../shared is absent, as in a user's clone)."""

import subprocess
import sys

import pytest

from tests.support.cli import ROOT, SHARED

DEV = SHARED / "eval" / "extraction-dev"


@pytest.mark.skipif(not (DEV / "ground-truth.json").exists(), reason="shared extraction dev set not present")
def test_f1_meets_the_targets():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "extraction_eval.py"), "--dev", str(DEV)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    ).stdout
    f1 = {line[:24].strip(): float(line.split()[-2]) for line in out.splitlines() if line.startswith("ours")}
    assert f1["ours: html"] >= 0.955, out
    assert f1["ours: text"] >= 0.85, out
