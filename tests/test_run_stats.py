"""Per-run stats (OUTPUT/_runs/<run_id>.json), the summary's errors by reason, --help, run_pipeline."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest

from pipelines.options import SETTINGS
from pipelines.stats import ErrorReasons, reason_of, top_reasons
from tests.support.cli import ROOT, SEEDS
from tests.support.observed import run_stats
from transforms.settings import flags, option_fields


def rows_of(output, table: str) -> list[dict]:
    return ds.dataset(output / table, partitioning="hive").to_table().to_pylist()


def test_reasons_mask_numbers_quotes_and_paths():
    assert reason_of("ValueError: too short (12 words)") == reason_of("ValueError: too short (7 words)")
    assert reason_of("unsupported file type 'a.docx': expected .txt") == "unsupported file type '…': expected .txt"
    assert reason_of("cannot read file: /data/x/y.txt") == "cannot read file: <path>"
    assert reason_of("") == "(no message)"


def test_top_reasons_per_stage():
    reasons = ErrorReasons({("read", f"r{i}"): i for i in range(1, 8)} | {("parse", "p"): 2})
    lines = top_reasons(reasons, top=5)
    assert lines[1] == "errors by stage and reason" and "  read (28)" in lines and "  parse (2)" in lines
    assert lines[lines.index("  read (28)") + 1].split() == ["7", "r7"]
    assert any("(2 other reasons)" in line for line in lines)


def test_stats_file_matches_the_tables(observed_run):
    process, output = observed_run
    assert process.returncode == 0, process.stderr
    stats = run_stats(output)
    assert stats["status"] == "committed" and stats["committed"] is True
    assert stats["started_at"] < stats["finished_at"] and stats["seconds"] > 0
    assert stats["options"]["direct_num_workers"] == 2 and stats["inputs"]["files"] > 0
    tables = {table: len(rows_of(output, table)) for table in ("articles", "duplicates", "errors", "entities")}
    assert {table: stats["rows"][table] for table in tables} == tables
    assert {table: stats["counts"][table] for table in tables} == tables
    assert stats["counts"]["documents_read"] == tables["articles"] + tables["duplicates"] + tables["errors"]
    stages = stats["stages"]
    assert stages["read"]["in"] == stats["counts"]["documents_read"]
    assert stages["tag"]["out"] == tables["articles"] and stages["dedupe"]["duplicates"] == tables["duplicates"]
    errors = rows_of(output, "errors")
    for stage in {e["stage"] for e in errors}:
        mine = [e for e in errors if e["stage"] == stage]
        assert stages[stage]["errors"] == len(mine)
        assert sum(stages[stage]["errors_by_reason"].values()) == len(mine)
    assert stages["read"]["errors_by_reason"]["empty file"] == 2
    assert stages["read"]["error_examples"].keys() == stages["read"]["errors_by_reason"].keys()
    assert "notes.docx" in " ".join(stages["read"]["error_examples"].values())  # a real path, not '…'
    assert all(stages[s].get("seconds", 0) > 0 for s in ("read", "tag", "write")), stages  # from the runner's step timings
    assert "errors by stage and reason" in process.stdout and "empty file" in process.stdout


def test_a_failed_run_leaves_its_stats_and_no_version(tmp_path, monkeypatch):
    from pipelines import batch
    from pipelines.run import main

    def broken(*_):
        raise RuntimeError("the graph could not be built")

    monkeypatch.setattr(batch, "build", broken)  # a failure after the run began (bad options are refused before)
    output = tmp_path / "out"
    with pytest.raises(RuntimeError):
        main(["--input", f"{SEEDS}/*.txt", "--output", str(output), "--ner_batch_size", "7", "-q"])
    stats = run_stats(output)
    assert stats["committed"] is False and stats["status"].startswith("failed: RuntimeError")
    assert stats["options"]["ner_batch_size"] == 7
    assert not (output / "_current").exists() and not list((output / "_versions").iterdir())


def test_help_lists_every_option_with_its_default_and_examples(capsys):
    from pipelines.run import main

    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for settings_type in SETTINGS:
        for field in option_fields(settings_type):
            line = next(i for i, line in enumerate(text.splitlines()) if line.strip().startswith(", ".join(flags(field))))
            assert "(default" in " ".join(text.splitlines()[line + 1 : line + 4]), field.name
    assert "examples:" in text and "-q, --quiet" in text and "-v, --verbose" in text
    assert "--runner" in text and "--direct_running_mode" in text and "docs/runners.md" in text


def test_the_readme_option_table_lists_every_option():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| option | default | meaning |") :].split("\n\n", 1)[0]
    for settings_type in SETTINGS:
        for field in option_fields(settings_type):
            assert any(f"`{spelling}`" in table for spelling in flags(field)), field.name


def test_run_pipeline_takes_the_cli_options_and_returns_the_summary(tmp_path, capsys):
    from pipelines import run_pipeline

    result = run_pipeline(input=[f"{SEEDS}/*.txt"], output=str(tmp_path / "out"), quiet=True)
    assert result.committed and result.exit_code == 0 and result.status == "committed"
    assert result.counts["documents_read"] == 5 and result.counts["articles"] + result.counts["duplicates"] == 5
    assert result.stages["tag"]["out"] == result.counts["articles"] == len(rows_of(tmp_path / "out", "articles"))
    assert (tmp_path / "out" / "_runs" / f"{result.run_id}.json").exists()
    assert "documents read" in result.summary and capsys.readouterr().out == ""  # quiet: nothing printed

    again = run_pipeline(["--input", f"{SEEDS}/*.txt", "--output", str(tmp_path / "out"), "-q"], write_mode="append")
    assert again.committed and again.counts["documents_read"] == 0  # the same files, skipped


def test_run_pipeline_refuses_unknown_options(tmp_path):
    from pipelines import run_pipeline
    from pipelines.checks import UsageError

    with pytest.raises(UsageError, match="did you mean --input"):
        run_pipeline(inptu="x", output=str(tmp_path))


def test_keyword_options_become_the_command_line_flags():
    from pipelines.run import cli_arguments

    assert cli_arguments(
        ["-q"], input=["a/*", "b/*"], verbose=2, fetch_articles=True, state_dir=None, allow_empty_input=False
    ) == [
        "-q",
        "--input=a/*",
        "--input=b/*",
        "--verbose",
        "--verbose",
        "--fetch_articles",
    ]
