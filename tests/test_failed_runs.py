"""A run that fails as a whole is not committed (the dataset stays as it was, exit 1, one line on stderr), and
what the project's own checks did not catch before is one line with exit 2, not a traceback. In process
(``pipelines.run.main``), except the closed stdout, which needs a real pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.checks import UsageError
from pipelines.options import NewsPipelineOptions, RunSettings, settings
from pipelines.run import execute, main
from pipelines.stats import ErrorReasons, reason_of, top_reasons
from pipelines.verdict import too_many_errors
from tests.support.cli import ROOT, SEEDS, dataset_rows
from transforms.feeds import FEEDS_NAMESPACE
from transforms.schema import READ, WRITE
from transforms.stage import DOCUMENTS, ERRORS, SKIPPED
from transforms.write.commit import VERSIONS, current_version


def state(output) -> tuple:
    return dataset_rows(output), current_version(str(output)), sorted(os.listdir(output / VERSIONS))


def last_stats(output) -> dict:
    path = max((output / "_runs").glob("*.json"), key=os.path.getmtime)
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The seeds, committed: four articles and a duplicate."""
    output = tmp_path_factory.mktemp("failed-runs") / "out"
    assert main(["--input", f"{SEEDS}/*", "--output", str(output), "-q"]) == 0
    assert len(dataset_rows(output)["articles"]) == 4
    return output


# -- the verdict, on counters --------------------------------------------------------------------------------


def totals(documents: int, errors: int, **skips: int) -> dict:
    t = {(READ, DOCUMENTS): documents - errors, (READ, ERRORS): errors, (WRITE, "errors"): errors}
    t[(WRITE, "articles")] = documents - errors
    if "files" in skips:
        t[(READ, SKIPPED)] = skips["files"]
    if "entries" in skips:
        t[(FEEDS_NAMESPACE, "entries_already_seen")] = skips["entries"]
    if "unchanged" in skips:
        t[(FEEDS_NAMESPACE, "not_modified")] = skips["unchanged"]
    return t


REASONS = ErrorReasons({(READ, "HTTP N Not Found"): 3}, {(READ, "HTTP N Not Found"): "HTTP 404 Not Found (https://h/x)"})


def test_a_run_of_errors_only_fails_whatever_the_rate():
    failure = too_many_errors(totals(3, 3), REASONS, 1.0)
    assert failure == "all 3 documents read ended as errors (read: HTTP 404 Not Found (https://h/x))"
    assert too_many_errors(totals(0, 0), ErrorReasons(), 0.5) is None  # nothing read: nothing failed


def test_the_share_of_errors_is_over_documents_read_and_counted_skips():
    assert too_many_errors(totals(10, 5), REASONS, 0.5) is None  # half is not more than half
    failure = too_many_errors(totals(10, 6), REASONS, 0.5)
    assert failure.startswith("6 of 10 documents read ended as errors (60%, more than --max-error-rate 0.5;")
    assert too_many_errors(totals(10, 6), REASONS, 1.0) is None
    # An hourly feed run: one feed down, the others unchanged or seen before, is no failed run.
    assert too_many_errors(totals(1, 1, unchanged=3, entries=40), REASONS, 0.5) is None
    assert too_many_errors(totals(2, 2, files=5), REASONS, 0.5) is None
    assert too_many_errors(totals(6, 6, files=5), REASONS, 0.5).startswith("6 of 6 documents read")


def test_max_error_rate_is_a_share_from_0_to_1(tmp_path):
    for bad in ("1.5", "-0.1", "half"):
        with pytest.raises(UsageError, match="--max_error_rate"):
            from pipelines.run import parse_arguments

            parse_arguments(["--max-error-rate", bad, "--output", str(tmp_path)])
    assert main(["--max-error-rate", "2", "--output", str(tmp_path / "x")]) == 2
    options = NewsPipelineOptions(["--max-error-rate", "25%"])
    assert settings(options, RunSettings).max_error_rate == 0.25
    assert settings(NewsPipelineOptions([]), RunSettings).max_error_rate == 0.5


# -- all-errors runs leave the dataset as it was ----------------------------------------------------------


def test_a_folder_as_input_is_refused_before_any_work(dataset, capsys):
    before = state(dataset)
    code = main(["--input", str(SEEDS), "--output", str(dataset), "--write_mode", "overwrite", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == f"error: --input {str(SEEDS)!r} is a folder: read its files with --input '{SEEDS}/*'"
    assert state(dataset) == before


def test_a_run_whose_every_document_fails_is_not_committed(dataset, tmp_path, capsys):
    """The folder input (past the refusal, as from Python: a counted skip) and a missing local feed: one
    error row, no article; in overwrite mode, committing would replace the dataset with an empty one."""
    before = state(dataset)
    missing = tmp_path / "no-such-feed.xml"
    options = NewsPipelineOptions(
        ["--input", str(SEEDS), "--feed", str(missing), "--output", str(dataset), "--write_mode", "overwrite", "-q"]
    )
    outcome = execute(options, settings(options, RunSettings))
    assert not outcome.committed and outcome.exit_code == 1 and outcome.status == "not committed"
    assert outcome.failure.startswith(f"run {outcome.run_id} not committed: all 1 documents read ended as errors (read: ")
    assert outcome.failure.endswith(f"; {dataset} is as it was")
    assert state(dataset) == before
    stats = last_stats(dataset)
    assert stats["run_id"] == outcome.run_id and stats["status"] == "not committed" and stats["committed"] is False
    assert stats["failure"] == outcome.failure
    # The summary names each reason with a real example: the actual paths, uncut.
    out = capsys.readouterr().out
    assert f"e.g. cannot read feed file: [Errno 2] No such file or directory: '{missing}'" in out
    assert "special files skipped" in out


def test_an_overwrite_that_reads_nothing_is_not_committed(dataset, tmp_path):
    """Inputs that match only folders: nothing read, no error; committing would empty the dataset."""
    before = state(dataset)
    (tmp_path / "empty-folder").mkdir()
    options = NewsPipelineOptions(
        ["--input", str(tmp_path / "empty-*"), "--output", str(dataset), "--write_mode", "overwrite", "-q"]
    )
    outcome = execute(options, settings(options, RunSettings))
    assert not outcome.committed and "no document read" in outcome.failure
    assert state(dataset) == before


def test_the_command_exits_1_with_one_line_and_the_dataset_unchanged(dataset, tmp_path, capsys):
    before = state(dataset)
    missing = tmp_path / "no-such-feed.xml"
    code = main(["--feed", str(missing), "--output", str(dataset), "--write_mode", "overwrite", "-q"])
    captured = capsys.readouterr()
    assert code == 1
    (line,) = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: run ") and "not committed: all 1 documents read ended as errors (read: " in line
    assert line.endswith(f"; {dataset} is as it was") and str(missing) in line
    assert "Traceback" not in captured.err and "committed, output in" not in captured.out
    assert state(dataset) == before


# -- clear errors, no tracebacks --------------------------------------------------------------------------


def test_an_unknown_runner_is_refused_with_a_suggestion_and_touches_nothing(tmp_path, capsys):
    output = tmp_path / "out"
    assert main(["--runner=FlinkRuner", "--output", str(output)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unknown runner 'FlinkRuner'; did you mean FlinkRunner?"]
    assert not output.exists()  # no _lock, no _runs, no folder
    assert main(["--runner=DaskRunner", "--output", str(output)]) == 2
    assert "did you mean apache_beam.runners.dask.dask_runner.DaskRunner?" in capsys.readouterr().err
    assert main(["--runner=apache_beam.runners.nowhere.NoRunner", "--output", str(output)]) == 2
    assert "unknown runner 'apache_beam.runners.nowhere.NoRunner'" in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--feeds-file", "/nonexistent/feeds.txt"], "error: --feeds-file /nonexistent/feeds.txt: No such file or directory"),
        (["--input", "nosuchscheme://x/*"], "error: --input cannot be listed: Unable to get filesystem"),
    ],
)
def test_inputs_that_cannot_be_read_at_all_are_one_line(args, message, tmp_path, capsys):
    assert main([*args, "--output", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message) and not (tmp_path / "out").exists()


def _installed(module: str, flag: str) -> bool:
    import importlib

    return bool(getattr(importlib.import_module(module), flag, True))


@pytest.mark.parametrize(
    "args, extra, installed",
    [
        (["--input", "gs://bucket/news/*.jsonl"], "gcp", ("apache_beam.io.gcp.gcsio", "GCS_INSTALLED")),
        (["--feed", "gs://bucket/feed.xml"], "gcp", ("apache_beam.io.gcp.gcsio", "GCS_INSTALLED")),
        (["--output", "s3://bucket/news"], "aws", ("apache_beam.io.aws.s3io", "BOTO3_INSTALLED")),
    ],
)
def test_a_scheme_without_its_extra_names_the_extra(args, extra, installed, tmp_path, capsys):
    if _installed(*installed):
        pytest.skip(f"the {extra} extra is installed here")
    output = [] if "--output" in args else ["--output", str(tmp_path / "out")]
    assert main([*args, *output]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        line.startswith("error: ")
        and f"pip install 'apache-beam[{extra}]" in line
        and f"(the {extra} extra of news-ingest)" in line
    )
    assert not (tmp_path / "out").exists()


def test_a_runner_without_its_extra_names_the_extra(tmp_path, capsys, monkeypatch):
    """Without dask installed: simulated by hiding it (and Beam's module that imports it)."""
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.delitem(sys.modules, "apache_beam.runners.dask.dask_runner", raising=False)
    code = main(["--runner=apache_beam.runners.dask.dask_runner.DaskRunner", "--output", str(tmp_path / "out")])
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        "pip install 'apache-beam[dask]" in line and "(the dask extra of news-ingest)" in line and not (tmp_path / "out").exists()
    )


def test_a_closed_stdout_ends_the_summary_not_the_run(tmp_path):
    """``python -m pipelines.run ... | head -3``: the reader is gone before the summary; the run committed."""
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.run", "--input", str(SEEDS / "002*"), "--output", str(output), "-q"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()[-3000:]
    assert b"BrokenPipe" not in err and b"Traceback" not in err
    assert current_version(str(output)) is not None


# -- the summary's reasons: masked to group, a real example to act on --------------------------------------


def test_reasons_are_never_cut():
    long = "refused 127.0.0.1: it resolves to the non-public address 127.0.0.1 (name it in --allow-private-hosts to fetch it)"
    assert reason_of(long).endswith("(name it in --allow-private-hosts to fetch it)")


def test_each_reason_shows_one_real_example_uncut():
    long = "refused 127.0.0.1: it resolves to the non-public address 127.0.0.1 (name it in --allow-private-hosts to fetch it)"
    reasons = ErrorReasons(
        {("fetch", "HTTP N File not found"): 3, ("fetch", reason_of(long)): 1, ("read", "empty file"): 2},
        {
            ("fetch", "HTTP N File not found"): "HTTP 404 File not found (https://host/x)",
            ("fetch", reason_of(long)): long,
            ("read", "empty file"): "empty file",
        },
    )
    lines = top_reasons(reasons)
    assert "         3  HTTP N File not found   e.g. HTTP 404 File not found (https://host/x)" in lines
    assert any(line.endswith(f"e.g. {long}") for line in lines)
    assert "         2  empty file" in lines  # nothing masked: the reason is its own example
