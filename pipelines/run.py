"""Command line: ``python -m pipelines.run [--input GLOB ...] [--output DIR] [--runner ...] [Beam options]``,
or ``--streaming --feed URL ... [--poll-interval 300s] [--window 15m] [--run-for DURATION]``.

Builds the batch (or streaming) pipeline, runs it to the end and prints the run summary. Exits non-zero when the
accounting does not balance: every document read must be exactly one article, duplicate or error.
"""

from __future__ import annotations

import logging
import signal
import sys
import time


class _WithoutGcpClientNotice(logging.Filter):
    """Beam warns at import that Google's bigquery client is missing; nothing here uses it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_WithoutGcpClientNotice())  # before Beam is imported

import apache_beam as beam  # noqa: E402
from apache_beam.io.filesystems import FileSystems  # noqa: E402
from apache_beam.options.pipeline_options import StandardOptions  # noqa: E402

from pipelines import batch, streaming  # noqa: E402
from pipelines.options import NewsPipelineOptions, RunSettings, feed_sources, settings  # noqa: E402
from pipelines.runner import offline_runner  # noqa: E402
from pipelines.summary import counters, summary, written_totals  # noqa: E402
from transforms.write import TABLES, clear_output, count_written_rows, new_run_id, write_empty_table  # noqa: E402


def stop_on_signals(stop_file: str) -> None:
    """Ctrl-C or SIGTERM: stop polling, write what is pending, exit. A second signal aborts at once
    (files already written stay whole: each appears only once complete)."""

    def stop(signum, _frame):
        if FileSystems.exists(stop_file):
            raise KeyboardInterrupt
        print(f"{signal.Signals(signum).name}: stopping after the polls in flight; signal again to abort", flush=True)
        with FileSystems.create(stop_file) as handle:
            handle.write(b"stop\n")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("news.stream").setLevel(logging.INFO)
    options = NewsPipelineOptions(argv if argv is not None else sys.argv[1:])
    run = settings(options, RunSettings)
    is_streaming = options.view_as(StandardOptions).streaming
    if is_streaming and run.fetch_articles:
        raise SystemExit("--fetch-articles is not supported with --streaming yet: entries are ingested with their feed content")
    write_mode = run.write_mode or ("append" if feed_sources(run) else "overwrite")
    started = time.perf_counter()
    pipeline = beam.Pipeline(runner=offline_runner(options), options=options)
    run_id = new_run_id()
    try:
        (streaming if is_streaming else batch).build(pipeline, options, run_id)
    except ValueError as e:  # a bad combination of options: said before anything is touched
        raise SystemExit(f"error: {e}") from None
    if write_mode == "overwrite":
        clear_output(run.output)
    if is_streaming:
        for table in TABLES:  # a stream may take a while to produce its first row of each table
            write_empty_table(run.output, table, run_id)
        stop_file = streaming.stop_file(run, run_id)
        stop_on_signals(stop_file)
    result = pipeline.run()
    result.wait_until_finish()
    totals = counters(result)
    if totals is None:
        totals = written_totals(count_written_rows(run.output, run_id))
        print("(this runner keeps no metrics: counts are read back from the written files; documents read is their sum)")
    if is_streaming and FileSystems.exists(stop_file):
        FileSystems.delete([stop_file])
    text, balanced = summary(totals, time.perf_counter() - started)
    print(f"Run finished, output in {run.output}\n{text}")
    return 0 if balanced else 1


if __name__ == "__main__":
    sys.exit(main())
