"""Command line: ``python -m pipelines.run [--input GLOB ...] [--output DIR] [--runner ...] [Beam options]``,
or ``--streaming --feed URL ... [--poll-interval 300s] [--window 15m] [--run-for DURATION]``.

Builds the batch (or streaming) pipeline, runs it to the end and prints the run summary. Exits non-zero when the
accounting does not balance: every document read must be exactly one article, duplicate or error.
"""

from __future__ import annotations

import datetime as dt
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
from pipelines.checks import UsageError, refuse_empty_inputs, refuse_unknown_arguments  # noqa: E402
from pipelines.options import NewsPipelineOptions, RunSettings, feed_sources, input_patterns, settings  # noqa: E402
from pipelines.runner import offline_runner  # noqa: E402
from pipelines.summary import counters, summary, written_totals  # noqa: E402
from transforms.write import TABLES, count_written_rows, new_run_id, run_files, write_empty_table  # noqa: E402
from transforms.write.commit import (  # noqa: E402
    DatasetError,
    abandon,
    begin,
    check_output,
    commit,
    exclusive,
    publish,
    seal,
)


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


def parse_arguments(argv: list[str]) -> tuple[NewsPipelineOptions, RunSettings]:
    """The options, or a ``UsageError`` for anything that cannot run: said before any work."""
    refuse_unknown_arguments(argv)
    options = NewsPipelineOptions(argv)
    run = settings(options, RunSettings)
    is_streaming = options.view_as(StandardOptions).streaming
    if is_streaming and run.fetch_articles:
        raise UsageError("--fetch-articles is not supported with --streaming yet: entries are ingested with their feed content")
    if not run.allow_empty_input:
        refuse_empty_inputs(input_patterns(run))
    try:
        check_output(run.output)
    except DatasetError as e:
        raise UsageError(str(e)) from None
    return options, run


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("news.stream").setLevel(logging.INFO)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options, run = parse_arguments(argv)
        with exclusive(run.output):
            return execute(options, run)
    except (UsageError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def execute(options: NewsPipelineOptions, run: RunSettings) -> int:
    """Run the job into a new version of the dataset and commit it only if every document is accounted for."""
    is_streaming = options.view_as(StandardOptions).streaming
    append = (run.write_mode or ("append" if feed_sources(run) else "overwrite")) == "append"
    started, started_at = time.perf_counter(), dt.datetime.now(dt.timezone.utc)
    run_id = new_run_id()
    pipeline = beam.Pipeline(runner=offline_runner(options), options=options)
    version = begin(run.output, run_id, append)
    try:
        try:
            (streaming if is_streaming else batch).build(pipeline, options, run_id, version.root)
        except ValueError as e:  # a bad combination of options: said before anything is touched
            raise UsageError(str(e)) from None
        if is_streaming:
            for table in TABLES:  # a stream may take a while to produce its first row of each table
                write_empty_table(version.root, table, run_id)
            publish(version)  # a stream's files appear as they are written, each one whole
            stop_file = streaming.stop_file(run, version.root, run_id)
            stop_on_signals(stop_file)
        result = pipeline.run()
        result.wait_until_finish()
        totals = counters(result)
        written = count_written_rows(version.root, run_id)
        if totals is None:
            totals = written_totals(written)
            print("(this runner keeps no metrics: counts are read back from the written files; documents read is their sum)")
        if is_streaming and FileSystems.exists(stop_file):
            FileSystems.delete([stop_file])
        text, balanced = summary(totals, time.perf_counter() - started)
        if not balanced:
            if is_streaming:
                print(f"Run {run_id} ended with its accounting broken; its files are in {run.output}\n{text}")
            else:
                abandon(version)
                print(f"Run {run_id} failed, nothing committed: {run.output} is as it was\n{text}")
            return 1
        manifest = run_manifest(options, run, version, started_at, written)
        if is_streaming:
            seal(version, manifest)
        else:
            commit(version, manifest)
    except BaseException:
        if not is_streaming:
            abandon(version)
        raise
    print(f"Run {run_id} committed, output in {run.output}\n{text}")
    return 0


def run_manifest(options, run: RunSettings, version, started_at: dt.datetime, written: dict[str, int]) -> dict:
    """What a committed run leaves beside its tables: who, when, from what, how many rows, which files."""
    return {
        "run_id": version.run_id,
        "previous_version": version.previous,
        "started_at": started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "options": options.get_all_options(drop_default=True),
        "inputs": {"patterns": input_patterns(run), "feeds": feed_sources(run)},
        "rows": written,
        "files": run_files(version.root, version.run_id),
    }


if __name__ == "__main__":
    sys.exit(main())
