"""Command line: ``python -m pipelines.run [--input GLOB ...] [--output DIR] [--runner ...] [Beam options]``.

Builds the batch pipeline, runs it to the end and prints the run summary. Exits non-zero when the
accounting does not balance: every document read must be exactly one article, duplicate or error.
"""

from __future__ import annotations

import logging
import sys
import time

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from pipelines import batch
from pipelines.options import NewsPipelineOptions
from pipelines.runner import offline_runner
from transforms.write import clear_output, new_run_id


def counters(result) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace("pipeline"))["counters"]:
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (counter.committed or counter.attempted or 0)
    return totals


def summary(totals: dict[str, int], seconds: float) -> tuple[str, bool]:
    read = totals.get("documents_read", 0)
    articles, duplicates, errors = (totals.get(f"{t}_rows", 0) for t in ("articles", "duplicates", "errors"))
    balanced = read == articles + duplicates + errors
    lines = [
        f"documents read     {read:>8}",
        f"articles written   {articles:>8}",
        f"duplicates         {duplicates:>8}",
        f"errors             {errors:>8}",
        f"entity rows        {totals.get('entities_rows', 0):>8}",
        f"time taken         {seconds:>8.1f} s ({read / seconds if seconds else 0:.1f} docs/s)",
    ]
    if not balanced:
        lines.append(f"ACCOUNTING MISMATCH: {read} read != {articles} + {duplicates} + {errors}")
    return "\n".join(lines), balanced


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = NewsPipelineOptions(argv if argv is not None else sys.argv[1:])
    if options.write_mode == "overwrite":
        clear_output(options.output)
    started = time.perf_counter()
    pipeline = beam.Pipeline(runner=offline_runner(options), options=options)
    batch.build(pipeline, options, new_run_id())
    result = pipeline.run()
    result.wait_until_finish()
    text, balanced = summary(counters(result), time.perf_counter() - started)
    print(f"Run finished, output in {options.output}\n{text}")
    return 0 if balanced else 1


if __name__ == "__main__":
    sys.exit(main())
