"""Per-run stats: ``OUTPUT/_runs/<run_id>.json`` for every run, committed or not: options, inputs, start
and end, status, rows per table, and per stage: in, out, errors by reason, seconds.

Errors by reason are read back from the run's own errors files at the end (one column scan, no cost
while the job runs); a reason is the error text with its numbers and quoted parts masked, so that
"too short (12 words)" and "too short (7 words)" are one reason. Stage seconds are the runner's
per-step execution time (``process_bundle_msecs``, summed over workers) where it reports it.
"""

from __future__ import annotations

import collections
import json
import re
from typing import Optional

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.summary import Totals, counted, stage_counts
from transforms.files import write_atomically
from transforms.schema import CLEAN, DEDUPE, FETCH, PARSE, READ, STAGES, TAG, WRITE
from transforms.write.parquet import table_files

RUNS = "_runs"
# The graph's top-level step names (pipelines/batch.py, streaming.py) -> the stage they belong to.
STEP_STAGES = {
    "ReadFiles": READ,
    "RememberFiles": READ,
    "ReadFeeds": FETCH,
    "PollFeeds": FETCH,
    "Parse": PARSE,
    "Clean": CLEAN,
    "Dedupe": DEDUPE,
    "Tag": TAG,
    "Write": WRITE,
}
_MASKS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (re.compile(r"(?:[a-z]+://|/)[^\s:,;)]+", re.I), "<path>"),
    (re.compile(r"\d+(?:\.\d+)?"), "N"),
]
REASON_CHARS = 100


def reason_of(error: str) -> str:
    """The error text as a reason: numbers, quoted text and paths masked, cut to ``REASON_CHARS``."""
    text = (error or "").strip().splitlines()[0] if (error or "").strip() else "(no message)"
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text[:REASON_CHARS]


def error_reasons(root: str, run_id: str) -> dict[tuple[str, str], int]:
    """(stage, reason) -> rows, over the errors files this run wrote under ``root``."""
    counts: collections.Counter = collections.Counter()
    for path in table_files(root, "errors", f"part-{run_id}-*.parquet"):
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle, columns=["stage", "error"])
        for stage, error in zip(table.column("stage").to_pylist(), table.column("error").to_pylist()):
            counts[(stage, reason_of(error))] += 1
    return dict(counts)


def stage_seconds(result) -> dict[str, float]:
    """Seconds of execution per stage from the runner's monitoring metrics; empty where it has none."""
    try:
        query = result.monitoring_metrics().query()
    except Exception:  # a runner without monitoring metrics (PortableRunner, DaskRunner)
        return {}
    msecs: collections.Counter = collections.Counter()
    for counter in query["counters"]:
        if counter.key.metric.name.endswith("process_bundle_msecs:v1") and counter.key.step:
            stage = STEP_STAGES.get(counter.key.step.split("/")[0])
            if stage:
                msecs[stage] += counter.committed or counter.attempted or 0
    return {stage: round(value / 1000, 3) for stage, value in msecs.items()}


def stage_stats(t: Totals, reasons: dict[tuple[str, str], int], seconds: dict[str, float]) -> dict[str, dict]:
    """Per stage that did anything: in, out, errors (total and by reason), seconds."""
    stages = {}
    for stage in STAGES:
        if not counted(t, stage) and stage not in seconds:
            continue
        if stage == WRITE:
            row = {"rows": {name: value for (namespace, name), value in t.items() if namespace == WRITE}}
        else:
            row = stage_counts(t, stage)
        by_reason = {reason: n for (s, reason), n in sorted(reasons.items(), key=lambda kv: -kv[1]) if s == stage}
        if by_reason:
            row["errors_by_reason"] = by_reason
        if stage in seconds:
            row["seconds"] = seconds[stage]
        stages[stage] = row
    return stages


def top_reasons(reasons: dict[tuple[str, str], int], top: int = 5) -> list[str]:
    """The summary's lines on errors: per stage, its ``top`` reasons and how many rows each."""
    if not reasons:
        return []
    lines = ["", "errors by stage and reason"]
    for stage in STAGES:
        mine = sorted(((n, reason) for (s, reason), n in reasons.items() if s == stage), reverse=True)
        if not mine:
            continue
        lines.append(f"  {stage} ({sum(n for n, _ in mine)})")
        lines += [f"  {n:>8}  {reason}" for n, reason in mine[:top]]
        if len(mine) > top:
            lines.append(f"  {sum(n for n, _ in mine[top:]):>8}  ({len(mine) - top} other reasons)")
    return lines


def write_run_stats(output: str, run_id: str, record: dict) -> Optional[str]:
    """Write ``record`` to ``OUTPUT/_runs/<run_id>.json``; returns the path."""
    path = FileSystems.join(output, RUNS, f"{run_id}.json")
    data = json.dumps(record, indent=1, sort_keys=True, default=str).encode("utf-8")
    write_atomically(path, lambda sink: sink.write(data))
    return path
