"""The syndication dev corpus (``../shared/eval/syndication-dev-2``: page dumps and ``truth.json``, each
file's story; the first version's follow-ups made some "false" pairs true copies) and pair
precision/recall/F1 of what a run wrote, read back from its tables."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from tests.support.cli import SHARED, table

CORPUS = SHARED / "eval" / "syndication-dev-2"


def truth() -> dict[str, str]:
    return json.loads((CORPUS / "truth.json").read_text())


def clusters_written(output: Path) -> dict[str, str]:
    """File name -> cluster id, from the articles and duplicates tables; a file written as an error (or
    not at all) is left out, and so counts as a cluster of its own."""
    labels = {}
    for name in ("articles", "duplicates"):
        for row in table(output, name):
            labels[Path(row["source_path"]).name] = row["cluster_id"]
    return labels


def pair_scores(labels: dict[str, str], gold: dict[str, str]) -> dict:
    """Pair precision, recall and F1 over every pair of files in ``gold``."""
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same, truly = labels.get(a, a) == labels.get(b, b), gold[a] == gold[b]
        tp += same and truly
        fp += same and not truly
        fn += truly and not same
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3), "tp": tp, "fp": fp, "fn": fn}
