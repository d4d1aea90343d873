"""The HTML report: built from a real run, rendered in headless Chromium, every chart drawn, no error."""

from __future__ import annotations

import os
import re
import time

import pytest

from pipelines.report import build_report
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
