"""Per-run stats: ``OUTPUT/_runs/<run_id>.json`` for every run, committed or not: options, inputs, start
and end, status, rows per table, and per stage: in, out, errors by reason, seconds.

Errors by reason are read back from the run's own errors files at the end (a scan of three columns, no
cost while the job runs); a reason is the error text with its numbers, quoted parts and paths masked, so
that "too short (12 words)" and "too short (7 words)" are one reason, and each reason keeps one real
example (the first error row's full text, with its source when the text does not name it): the mask groups,
the example says what to act on (which host, status, path). Stage seconds are the runner's
per-step execution time (``process_bundle_msecs``, summed over workers) where it reports it.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
from typing import Optional

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.summary import Totals, counted, stage_counts
from transforms.files import write_atomically
from transforms.schema import CLEAN, DEDUPE, FETCH, PARSE, READ, STAGES, TAG, WRITE
from transforms.write.parquet import table_files
from transforms.write.versions import RUNS

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


def reason_of(error: str) -> str:
    """The error text's first line as a reason: numbers, quoted text and paths masked; never cut."""
    text = (error or "").strip().splitlines()[0] if (error or "").strip() else "(no message)"
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


def example_of(error: str, source_path: str) -> str:
    """An error row as a person reads it: its full first line, with its source when the text does not name it."""
    text = (error or "").strip().splitlines()[0] if (error or "").strip() else "(no message)"
    return text if not source_path or source_path in text else f"{text} ({source_path})"


@dataclasses.dataclass
class ErrorReasons:
    """A run's errors: (stage, reason) -> rows, and -> one real example."""

    counts: dict = dataclasses.field(default_factory=dict)
    examples: dict = dataclasses.field(default_factory=dict)

    def most_common(self) -> tuple[str, str, str] | None:
        """(stage, reason, example) of the reason with the most rows."""
        if not self.counts:
            return None
        stage, reason = max(self.counts, key=lambda key: (self.counts[key], key))
        return stage, reason, self.examples.get((stage, reason), reason)


def error_reasons(root: str, run_id: str) -> ErrorReasons:
    """Rows and an example per (stage, reason), over the errors files this run wrote under ``root``."""
    reasons = ErrorReasons(collections.Counter(), {})
    for path in table_files(root, "errors", f"part-{run_id}-*.parquet"):
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle, columns=["stage", "error", "source_path"])
        columns = (table.column(name).to_pylist() for name in ("stage", "error", "source_path"))
        for stage, error, source in zip(*columns):
            key = (stage, reason_of(error))
            reasons.counts[key] += 1
            reasons.examples.setdefault(key, example_of(error, source))
    reasons.counts = dict(reasons.counts)
    return reasons


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


def stage_stats(t: Totals, reasons: ErrorReasons, seconds: dict[str, float]) -> dict[str, dict]:
    """Per stage that did anything: in, out, errors (total, by reason, an example of each reason), seconds."""
    stages = {}
    for stage in STAGES:
        if not counted(t, stage) and stage not in seconds:
            continue
        if stage == WRITE:
            row = {"rows": {name: value for (namespace, name), value in t.items() if namespace == WRITE}}
        else:
            row = stage_counts(t, stage)
        by_reason = {reason: n for (s, reason), n in sorted(reasons.counts.items(), key=lambda kv: -kv[1]) if s == stage}
        if by_reason:
            row["errors_by_reason"] = by_reason
            row["error_examples"] = {reason: reasons.examples.get((stage, reason), reason) for reason in by_reason}
        if stage in seconds:
            row["seconds"] = seconds[stage]
        stages[stage] = row
    return stages


def top_reasons(reasons: ErrorReasons, top: int = 5) -> list[str]:
    """The summary's lines on errors: per stage, its ``top`` reasons, how many rows each, and one real
    example of each (uncut; where nothing was masked, only the example's source)."""
    if not reasons.counts:
        return []
    lines = ["", "errors by stage and reason"]
    for stage in STAGES:
        mine = sorted(((n, reason) for (s, reason), n in reasons.counts.items() if s == stage), reverse=True)
        if not mine:
            continue
        lines.append(f"  {stage} ({sum(n for n, _ in mine)})")
        for n, reason in mine[:top]:
            example = reasons.examples.get((stage, reason), reason)
            # Nothing masked: the example only adds its source ("empty file   (a.txt)", not the reason twice).
            shown = example[len(reason) :].strip() if example.startswith(reason) else f"e.g. {example}"
            lines.append(f"  {n:>8}  {reason}" + (f"   {shown}" if shown else ""))
        if len(mine) > top:
            lines.append(f"  {sum(n for n, _ in mine[top:]):>8}  ({len(mine) - top} other reasons)")
    return lines


def write_run_stats(output: str, run_id: str, record: dict) -> Optional[str]:
    """Write ``record`` to ``OUTPUT/_runs/<run_id>.json``; returns the path."""
    path = FileSystems.join(output, RUNS, f"{run_id}.json")
    data = json.dumps(record, indent=1, sort_keys=True, default=str).encode("utf-8")
    write_atomically(path, lambda sink: sink.write(data))
    return path
