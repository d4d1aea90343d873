"""Command line: ``python -m pipelines.run [--input GLOB ...] [--output DIR] [--runner ...] [Beam options]``.

Builds the batch pipeline, runs it to the end and prints the run summary. Exits non-zero when the
accounting does not balance: every document read must be exactly one article, duplicate or error.
"""

from __future__ import annotations

import logging
import sys
import time


class _WithoutGcpClientNotice(logging.Filter):
    """Beam warns at import that Google's bigquery client is missing; nothing here uses it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_WithoutGcpClientNotice())  # before Beam is imported

import apache_beam as beam  # noqa: E402
from apache_beam.metrics.metric import MetricsFilter  # noqa: E402

from pipelines import batch  # noqa: E402
from pipelines.options import NewsPipelineOptions  # noqa: E402
from pipelines.runner import offline_runner  # noqa: E402
from transforms.write import clear_output, count_written_rows, new_run_id  # noqa: E402


def counters(result) -> dict[str, int] | None:
    """The pipeline's counters, or None where the runner keeps no metrics (Beam 2.77's DaskRunner)."""
    try:
        query = result.metrics().query(MetricsFilter().with_namespace("pipeline"))
    except NotImplementedError:
        return None
    totals: dict[str, int] = {}
    for counter in query["counters"]:
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (counter.committed or counter.attempted or 0)
    return totals


FEED_COUNTERS = {
    "feeds_fetched": "feeds read",
    "feeds_not_modified": "feeds unchanged (304)",
    "entries_already_seen": "entries seen before",
    "pages_fetched": "article pages fetched",
}


def summary(totals: dict[str, int], seconds: float) -> tuple[str, bool]:
    read = totals.get("documents_read", 0)
    articles, duplicates, errors = (totals.get(f"{t}_rows", 0) for t in ("articles", "duplicates", "errors"))
    balanced = read == articles + duplicates + errors
    rows = [
        ("documents read", read),
        ("articles written", articles),
        ("duplicates", duplicates),
        ("errors", errors),
        ("entity rows", totals.get("entities_rows", 0)),
        *((label, totals[name]) for name, label in FEED_COUNTERS.items() if name in totals),
    ]
    lines = [f"{label:<22}{value:>8}" for label, value in rows]
    lines.append(f"{'time taken':<22}{seconds:>8.1f} s ({read / seconds if seconds else 0:.1f} docs/s)")
    if not balanced:
        lines.append(f"ACCOUNTING MISMATCH: {read} read != {articles} + {duplicates} + {errors}")
    return "\n".join(lines), balanced


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = NewsPipelineOptions(argv if argv is not None else sys.argv[1:])
    write_mode = options.write_mode or ("append" if batch.feed_sources(options) else "overwrite")
    if write_mode == "overwrite":
        clear_output(options.output)
    started = time.perf_counter()
    pipeline = beam.Pipeline(runner=offline_runner(options), options=options)
    run_id = new_run_id()
    batch.build(pipeline, options, run_id)
    result = pipeline.run()
    result.wait_until_finish()
    totals = counters(result)
    if totals is None:
        totals = count_written_rows(options.output, run_id)
        print("(this runner keeps no metrics: counts are read back from the written files; documents read is their sum)")
    text, balanced = summary(totals, time.perf_counter() - started)
    print(f"Run finished, output in {options.output}\n{text}")
    return 0 if balanced else 1


if __name__ == "__main__":
    sys.exit(main())
