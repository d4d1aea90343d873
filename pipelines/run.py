"""Command line: ``python -m pipelines.run [--input GLOB ...] [--output DIR] [--runner ...] [Beam options]``,
or ``--streaming --feed URL ... [--poll-interval 300s] [--window 15m] [--run-for DURATION]``.

Builds the batch (or streaming) pipeline, runs it to the end and prints the run summary. Exits non-zero when the
accounting does not balance: every document read must be exactly one article, duplicate or error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import StandardOptions

from pipelines import batch, streaming
from pipelines.adapter import adapted_runner, quiet_workers
from pipelines.checks import (
    UsageError,
    refuse_empty_inputs,
    refuse_folder_inputs,
    refuse_missing_extras,
    refuse_missing_format_extra,
    refuse_unknown_arguments,
    refuse_unusable_runner,
    requested_runner,
)
from pipelines.help import help_text
from pipelines.options import (
    SETTINGS,
    ConsoleSettings,
    NewsPipelineOptions,
    RunSettings,
    checked_settings,
    feed_sources,
    input_patterns,
    settings,
    state_dir,
)
from pipelines.progress import InputSize, Progress, input_size
from pipelines.result import RunResult
from pipelines.stats import error_reasons, stage_seconds, top_reasons, write_run_stats
from pipelines.summary import counters, summary, written_totals
from pipelines.verdict import refusal
from transforms.feeds.state import settle
from transforms.settings import flag_name, option_fields
from transforms.write import TABLES, count_written_rows, new_run_id, run_files, write_empty_table
from transforms.write.bundles import finish_staged
from transforms.write.commit import (
    ACCOUNTING_MISMATCH,
    DatasetError,
    abandon,
    begin,
    check_output,
    exclusive,
    publish,
    seal,
)
from transforms.write.tables import TableFormatError, TableSettings, commit, resolve

log = logging.getLogger("pipelines.run")


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
    """The options, or a ``UsageError`` for anything that cannot run: said before any work (and before the
    output folder is made)."""
    refuse_unusable_runner(requested_runner(argv))
    refuse_unknown_arguments(argv)
    options = NewsPipelineOptions(argv)
    FileSystems.set_options(options)  # the object store's settings (--s3_endpoint_url, ...) for the commit, too
    try:
        checked_settings(options)
    except ValueError as e:
        raise UsageError(str(e)) from None
    run = settings(options, RunSettings)
    is_streaming = options.view_as(StandardOptions).streaming
    if is_streaming and run.fetch_articles:
        raise UsageError("--fetch-articles is not supported with --streaming yet: entries are ingested with their feed content")
    if is_streaming and run.write_mode == "overwrite":
        raise UsageError(
            "--write_mode overwrite is refused with --streaming: every restart of the job would replace all it wrote "
            "before; stream into a new --output (append, the default), or remove the old dataset first"
        )
    refuse_missing_extras([*(run.input or []), *(run.feed or []), run.feeds_file or "", run.output, run.state_dir or ""])
    refuse_folder_inputs(run.input or [])
    if not run.allow_empty_input:
        refuse_empty_inputs(input_patterns(run))
    try:
        check_output(run.output)
        published = resolve(run.output, settings(options, TableSettings), is_streaming)
    except (DatasetError, TableFormatError) as e:
        raise UsageError(str(e)) from None
    refuse_missing_format_extra(published.format)
    return options, run


def configure_logging(verbose: int) -> None:
    """Warnings only by default; ``-v``: our INFO; ``-vv``: our DEBUG and Beam's INFO."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ours = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    for name in ("news", "pipelines", "transforms"):
        logging.getLogger(name).setLevel(ours)
    logging.getLogger("news.stream").setLevel(min(ours, logging.INFO))
    logging.getLogger().setLevel(logging.INFO if verbose >= 2 else logging.WARNING)


def say(*lines: str) -> None:
    """Print to stdout; a reader that went away (``... | head -3``) ends the output, not the run: stdout goes
    to devnull, as Python's documentation advises for SIGPIPE."""
    try:
        print(*lines, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(argv):
        say(help_text())
        return 0
    try:
        options, run = parse_arguments(argv)
        configure_logging(settings(options, ConsoleSettings).verbose)
        with exclusive(run.output):
            outcome = execute(options, run)
    except (UsageError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if outcome.failure:
        print(f"error: {outcome.failure}", file=sys.stderr)
    return outcome.exit_code


def cli_arguments(args: list[str] | None = None, **options) -> list[str]:
    """Keyword options as command-line flags: ``input=["a/*", "b/*"]`` -> ``--input=a/* --input=b/*``,
    ``fetch_articles=True`` -> ``--fetch_articles``, ``verbose=2`` -> ``--verbose --verbose``; False and
    None leave the option out."""
    counted = {flag_name(f) for s in SETTINGS for f in option_fields(s) if f.metadata["option"].get("action") == "count"}
    argv = list(args or [])
    for name, value in options.items():
        if name in counted:
            value = [True] * int(value or 0)
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is True:
                argv.append(f"--{name}")
            elif item is not None and item is not False:
                argv.append(f"--{name}={item}")
    return argv


def run_pipeline(args: list[str] | None = None, **options) -> RunResult:
    """The command as a function, for notebooks: the same options, as CLI arguments or keywords
    (``run_pipeline(input="data/*.jsonl", output="out", quiet=True)``). Returns the run's ``RunResult``
    (counts, stages, errors by reason, run id, committed or not); ``UsageError`` for options that cannot run,
    ``DatasetError`` when another run holds the output."""
    options_, run = parse_arguments(cli_arguments(args, **options))
    console = settings(options_, ConsoleSettings)
    configure_logging(console.verbose)
    with exclusive(run.output):
        return execute(options_, run, echo=(lambda *_: None) if console.quiet else say)


def execute(options: NewsPipelineOptions, run: RunSettings, echo=say) -> RunResult:
    """Run the job into a new version of the dataset: a batch run (``run_batch``) or a stream (``run_stream``).
    Every run, whatever its end, leaves ``OUTPUT/_runs/<run_id>.json``."""
    if options.view_as(StandardOptions).streaming:
        return run_stream(options, run, echo)
    return run_batch(options, run, echo)


def run_batch(options: NewsPipelineOptions, run: RunSettings, echo=say) -> RunResult:
    """A batch run: its version is committed only if every document is accounted for and not too many of
    them failed (``verdict.refusal``); otherwise, or if anything fails, it is abandoned whole."""
    job = _Job.begin(options, run, input_size(input_patterns(run)))
    with job.recorded(abandon_on_failure=True):
        job.build(batch)
        text, balanced = job.run_to_the_end(echo)
        if not balanced:
            abandon(job.version)
            echo(f"Run {job.run_id} failed, nothing committed: {run.output} is as it was\n{text}")
            job.outcome.status = ACCOUNTING_MISMATCH
            return job.outcome
        failure = refusal(job.totals, job.reasons, run.max_error_rate, not (job.append or run.allow_empty_input))
        if failure:
            abandon(job.version)
            job.outcome.status = "not committed"
            job.outcome.failure = f"run {job.run_id} not committed: {failure}; {run.output} is as it was"
            echo(f"{job.outcome.failure}\n{text}")
            return job.outcome
        commit(job.version, job.manifest(), resolve(run.output, settings(options, TableSettings)))
        job.outcome.status, job.outcome.committed = "committed", True
    echo(f"Run {job.run_id} committed, output in {run.output}\n{text}")
    return job.outcome


def run_stream(options: NewsPipelineOptions, run: RunSettings, echo=say) -> RunResult:
    """A stream: its files appear as they are written, each one whole, from the start (every table, even
    empty, at once); it polls until ``--run-for`` has passed or a signal (``stop_on_signals``), then writes
    what is pending, and its version is sealed if every document is accounted for."""
    job = _Job.begin(options, run, InputSize())
    with job.recorded(abandon_on_failure=False):
        job.build(streaming)
        for table in TABLES:  # a stream may take a while to produce its first row of each table
            write_empty_table(job.version.root, table, job.run_id)
        publish(job.version)
        stop_file = streaming.stop_file(run, job.version.root, job.run_id)
        stop_on_signals(stop_file)
        text, balanced = job.run_to_the_end(echo)
        if FileSystems.exists(stop_file):
            FileSystems.delete([stop_file])
        if not balanced:
            echo(f"Run {job.run_id} ended with its accounting broken; its files are in {run.output}\n{text}")
            job.outcome.status = ACCOUNTING_MISMATCH
            return job.outcome
        seal(job.version, job.manifest())
        job.outcome.status, job.outcome.committed = "committed", True
    echo(f"Run {job.run_id} committed, output in {run.output}\n{text}")
    return job.outcome


class _Job:
    """What a batch run and a stream share: a new version of the dataset, the pipeline, its run to the end
    with the progress line, the counts read back and the stats file."""

    def __init__(self, options: NewsPipelineOptions, run: RunSettings, size: InputSize):
        self.options, self.run, self.size = options, run, size
        self.append = (run.write_mode or ("append" if feed_sources(run) else "overwrite")) == "append"
        self.started, self.started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
        self.run_id = new_run_id()
        self.totals, self.written, self.reasons = None, {}, None

    @classmethod
    def begin(cls, options: NewsPipelineOptions, run: RunSettings, size: InputSize) -> _Job:
        job = cls(options, run, size)
        if settings(options, ConsoleSettings).verbose < 2:
            quiet_workers(options)
        job.version = begin(run.output, job.run_id, job.append, state_dir=run.state_dir)
        try:
            finish_staged(job.version.root, state_dir(run, job.version.root))  # bundles a killed stream left half committed
            settle(state_dir(run, job.version.root), job.version.root, job.version.removed)  # feed state: folded, migrated
        except BaseException:
            abandon(job.version)  # the version and its lease given up: the dataset as it was
            raise
        job.pipeline = beam.Pipeline(runner=adapted_runner(options), options=options)  # a temp folder, removed by its run
        job.outcome = RunResult(job.run_id, run.output)
        log.info(
            "run %s: %d files (%d bytes) into %s (%s)",
            job.run_id,
            size.files,
            size.bytes,
            job.version.root,
            "append" if job.append else "overwrite",
        )
        return job

    @contextlib.contextmanager
    def recorded(self, abandon_on_failure: bool):
        """The run's stats file written whatever its end; a failure recorded as its status (and its version
        abandoned, for a batch run)."""
        try:
            yield
        except BaseException as e:
            if abandon_on_failure:
                abandon(self.version)
            self.outcome.status = f"failed: {type(e).__name__}: {e}"[:500]
            raise
        finally:
            self.outcome.seconds = time.perf_counter() - self.started
            stats = self.outcome.stats(self.options, self.run, self.started_at, self.size)
            self.outcome.stats_path = write_run_stats(self.run.output, self.run_id, stats)
            log.info("run %s: %s; stats in %s", self.run_id, self.outcome.status, self.outcome.stats_path)

    def build(self, graph) -> None:
        try:
            graph.build(self.pipeline, self.options, self.run_id, self.version.root)
        except ValueError as e:  # a bad combination of options: said before anything is touched
            raise UsageError(str(e)) from None

    def run_to_the_end(self, echo) -> tuple[str, bool]:
        """Run the pipeline with the progress line; its counts, rows written and errors by reason recorded.
        Returns the summary and whether the accounting balances."""
        console = settings(self.options, ConsoleSettings)
        with Progress(self.size, enabled=not console.quiet) as progress:
            result = self.pipeline.run()
            result.wait_until_finish()
            totals = counters(result)
            self.written = count_written_rows(self.version.root, self.run_id)
            if totals is None:
                totals = written_totals(self.written)
                echo("(this runner keeps no metrics: counts are read back from the written files; documents read is their sum)")
            progress.finish(totals)
        self.totals, self.reasons = totals, error_reasons(self.version.root, self.run_id)
        self.outcome.seconds = time.perf_counter() - self.started
        text, balanced = summary(totals, self.outcome.seconds)
        text = "\n".join([text, *top_reasons(self.reasons)])
        self.outcome.record(totals, self.written, self.reasons, stage_seconds(result), text)
        return text, balanced

    def manifest(self) -> dict:
        return run_manifest(self.options, self.run, self.version, self.started_at, self.written)


def run_manifest(options, run: RunSettings, version, started_at: dt.datetime, written: dict[str, int]) -> dict:
    """What a committed run leaves beside its tables: who, when, from what, how many rows, which files."""
    return {
        "run_id": version.run_id,
        "previous_version": version.previous,
        "started_at": started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "options": options.get_all_options(drop_default=True),
        "inputs": {"patterns": input_patterns(run), "feeds": feed_sources(run)},
        "rows": written,
        "files": run_files(version.root, version.run_id),
    }


if __name__ == "__main__":
    sys.exit(main())
