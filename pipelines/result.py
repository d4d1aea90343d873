"""What a run returns (``run_pipeline``) and what its stats file says: one record for both."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from pipelines.options import feed_sources, input_patterns
from pipelines.stats import ErrorReasons, stage_stats
from pipelines.summary import Totals, documents_read, skips
from transforms.schema import READ, STAGES, WRITE
from transforms.stage import ALREADY_INGESTED


@dataclasses.dataclass
class RunResult:
    """A finished run: ``committed`` when its version became the dataset readers see."""

    run_id: str
    output: str
    status: str = "running"
    committed: bool = False
    seconds: float = 0.0
    counts: dict = dataclasses.field(default_factory=dict)  # documents_read, skipped, articles, duplicates, errors, entities
    rows: dict = dataclasses.field(default_factory=dict)  # rows this run wrote, per table
    stages: dict = dataclasses.field(default_factory=dict)  # per stage: in, out, errors, errors_by_reason, seconds
    errors_by_reason: dict = dataclasses.field(default_factory=dict)  # "stage: reason" -> rows
    summary: str = ""
    stats_path: Optional[str] = None
    failure: str = ""  # why a run that ended was not committed, in one line (the command's last line on stderr)

    @property
    def exit_code(self) -> int:
        return 0 if self.committed else 1

    def record(self, totals: Totals, written: dict, reasons: ErrorReasons, seconds: dict, text: str) -> None:
        self.rows = dict(written)
        self.counts = {
            "documents_read": documents_read(totals),
            "already_ingested": totals.get((READ, ALREADY_INGESTED), 0),
            "skipped": sum(skips(totals, stage) for stage in STAGES),  # records set aside by rule, every stage
            **{table: totals.get((WRITE, table), 0) for table in ("articles", "duplicates", "errors", "entities")},
        }
        self.stages = stage_stats(totals, reasons, seconds)
        by_rows = sorted(reasons.counts.items(), key=lambda kv: -kv[1])
        self.errors_by_reason = {f"{stage}: {reason}": n for (stage, reason), n in by_rows}
        self.summary = text

    def stats(self, options, run, started_at: dt.datetime, size) -> dict:
        """The content of ``OUTPUT/_runs/<run_id>.json``."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "committed": self.committed,
            **({"failure": self.failure} if self.failure else {}),
            "started_at": started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "seconds": round(self.seconds, 3),
            "options": options.get_all_options(drop_default=True),
            "inputs": {
                "patterns": input_patterns(run),
                "feeds": feed_sources(run),
                "files": size.files,
                "bytes": size.bytes,
            },
            "counts": self.counts,
            "rows": self.rows,
            "stages": self.stages,
        }

    def __str__(self) -> str:
        return self.summary or f"run {self.run_id}: {self.status}"
