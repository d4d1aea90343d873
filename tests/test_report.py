"""The HTML report: built from a real run, rendered in headless Chromium, every chart drawn, no error."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from pipelines.report import build_report, queries, write_report
from pipelines.report.__main__ import main as report_main
from tests.support.browser import chromium, render, screenshot

CHARTS = ("articles_per_day", "cluster_sizes", "languages", "errors", "runs")


@pytest.fixture(scope="module")
def report(observed_run, tmp_path_factory):
    process, output = observed_run
    assert process.returncode == 0, process.stderr
    page = tmp_path_factory.mktemp("report") / "report.html"
    assert report_main([str(output), "--out", str(page)]) == 0
    return page


def test_report_is_one_self_contained_file(report):
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", text)  # nothing fetched from anywhere
    assert not re.search(r"url\(\s*['\"]?https?:", text)
    for name in CHARTS:
        assert f'data-chart="{name}"' in text
    assert text.count('data-chart="entities_') >= 3
    assert "Most syndicated stories" in text and "empty file" in text
    assert len(text) < 1_000_000


def test_report_renders_in_chromium_with_every_chart_drawn(report, tmp_path):
    browser = chromium()
    if not browser:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: CI installs it (.ci/run)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    started = time.perf_counter()
    found = render(browser, report, tmp_path)
    seconds = time.perf_counter() - started
    assert found["errors"] == [] and not [line for line in found["console"] if "rror" in line], found
    names = [chart["name"] for chart in found["charts"]]
    assert set(CHARTS) <= set(names) and sum(n.startswith("entities_") for n in names) >= 3, names
    for chart in found["charts"]:
        assert chart["width"] > 150 and chart["height"] > 80 and chart["marks"] > 5, chart
    image = screenshot(browser, report, tmp_path / "report.png")
    assert image.stat().st_size > 20_000  # a page with charts, not a blank one
    print(f"rendered in {seconds:.1f} s; screenshot {image}")


def test_report_of_an_empty_dataset_says_so(tmp_path):
    from tests.support.cli import run_cli

    (tmp_path / "in").mkdir()
    process = run_cli("--input", str(tmp_path / "in" / "*"), "--allow-empty-input", "--output", str(tmp_path / "out"), "-q")
    assert process.returncode == 0, process.stderr
    text = build_report(str(tmp_path / "out"))
    assert "No dated article." in text and "No error" in text and 'data-chart="runs"' in text


def test_report_refuses_a_folder_without_a_dataset(tmp_path, capsys):
    assert report_main([str(tmp_path)]) == 2
    assert "holds no dataset" in capsys.readouterr().err


# Data is data: what outlets, titles, entities and errors say is never markup, mathtext or SQL.
HOSTILE = (
    "Bad $\\frac{$ Herald",  # mathtext: a parse error
    "$" + "\\sqrt{" * 80 + "x" + "}" * 80 + "$",  # mathtext: a RecursionError
    "<script>alert('x')</script>",
    'O\'Brien & "Sons" </td></table>',
    "_underscore Gazette",  # a legend hides labels that start with "_"
    "\\textbf{x} $$ ^_ % {} \x07bell\ttab\nline",
)


def hostile_dataset(output: Path) -> None:
    """A dataset as the writer lays it out, every data value a hostile string."""
    from transforms.schema import SCHEMAS, Article, Duplicate, EntityRow, ErrorRecord, record_row
    from transforms.write.parquet import table_folder, write_parquet

    def write(table: str, partition, records) -> None:
        rows = [record_row(r) for r in records]
        write_parquet(os.path.join(table_folder(str(output), table, partition), "part-x-00000.parquet"), rows, SCHEMAS[table])

    day = dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    articles = [
        Article(
            f"a{i}",
            f"in.jsonl:{i}",
            None,
            name,
            name,
            (name,),
            day + dt.timedelta(days=i % 2),
            "en",
            "text",
            "text",
            duplicate_count=1,
            cluster_id=f"a{i}",
        )
        for i, name in enumerate(HOSTILE)
    ]
    for date in ("2024-05-01", "2024-05-02"):
        write("articles", date, [a for a in articles if a.published_date == date])
        write(
            "entities",
            date,
            [EntityRow(a.article_id, name, name, 1) for a in articles if a.published_date == date for name in HOSTILE],
        )
    write("duplicates", None, [Duplicate(f"d{i}", "x", None, name, f"a{i}", f"a{i}", 1.0) for i, name in enumerate(HOSTILE)])
    write("errors", None, [ErrorRecord(f"e{i}", name, name) for i, name in enumerate(HOSTILE)])


def test_report_shows_hostile_data_as_plain_text(tmp_path):
    output = tmp_path / "source=x" / "it's $x$ <b>out</b> *"  # a quote, a glob, a Hive partition name
    hostile_dataset(output)
    hostile_dataset(tmp_path / "source=x" / "it's $x$ <b>out</b> a")  # what the name matches as a glob
    page = Path(write_report(str(output)))
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "<b>out" not in text and "</td></table>" not in text
    assert html.escape(str(output.resolve())) in text
    for name in HOSTILE:
        shown = html.escape(name.splitlines()[0])
        assert shown in text, name  # in the tables, or as the chart's own text: never typeset as mathtext
    assert text.count("Bad $\\frac{$ Herald") >= 5  # legend, entities chart and caption, stories, errors chart
    totals = queries.totals(queries.connect(str(output)))
    assert (totals["articles"], totals["sources"]) == (len(HOSTILE), len(HOSTILE))  # not the decoy's, not "x"


def test_a_table_without_files_reads_as_empty(tmp_path):
    hostile_dataset(tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "errors")  # a dataset older than one of its tables
    assert queries.totals(queries.connect(str(tmp_path / "out")))["errors"] == 0
    assert "No error" in build_report(str(tmp_path / "out"))
