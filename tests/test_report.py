"""The HTML report: built from a real run, rendered in headless Chromium, every chart drawn, no error."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from markupsafe import escape

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
    from tests.support.cli import run_command

    (tmp_path / "in").mkdir()
    process = run_command("--input", str(tmp_path / "in" / "*"), "--allow-empty-input", "--output", str(tmp_path / "out"), "-q")
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
    from transforms.schema import Article, Duplicate, Entity, ErrorRecord
    from transforms.write.parquet import TABLES, table_batches, table_folder, write_parquet

    day = dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    entities = tuple(Entity(name, name, 0, 1, name) for name in HOSTILE)
    records = [
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
            entities=entities,
        )
        for i, name in enumerate(HOSTILE)
    ]
    records += [Duplicate(f"d{i}", "x", None, name, f"a{i}", f"a{i}", 1.0) for i, name in enumerate(HOSTILE)]
    records += [ErrorRecord(f"e{i}", name, name) for i, name in enumerate(HOSTILE)]
    files: dict = {}
    for record in records:
        for table, partition, rows in table_batches(record):
            files.setdefault((table, partition), []).extend(rows)
    for (table, partition), rows in files.items():
        write_parquet(os.path.join(table_folder(str(output), table, partition), "part-x-00000.parquet"), rows, TABLES[table])


def test_report_shows_hostile_data_as_plain_text(tmp_path):
    output = tmp_path / "source=x" / "it's $x$ <b>out</b> *"  # a quote, a glob, a Hive partition name
    hostile_dataset(output)
    hostile_dataset(tmp_path / "source=x" / "it's $x$ <b>out</b> a")  # what the name matches as a glob
    page = Path(write_report(str(output)))
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "<b>out" not in text and "</td></table>" not in text
    assert escape(str(output.resolve())) in text
    for name in HOSTILE:
        shown = escape(name.splitlines()[0])
        assert shown in text, name  # in the tables, or as the chart's own text: never typeset as mathtext
    assert text.count("Bad $\\frac{$ Herald") >= 5  # legend, entities chart and caption, stories, errors chart
    totals = queries.totals(queries.connect(str(output)))
    assert (totals["articles"], totals["sources"]) == (len(HOSTILE), len(HOSTILE))  # not the decoy's, not "x"


def test_a_table_without_files_reads_as_empty(tmp_path):
    hostile_dataset(tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "errors")  # a dataset older than one of its tables
    assert queries.totals(queries.connect(str(tmp_path / "out")))["errors"] == 0
    assert "No error" in build_report(str(tmp_path / "out"))


def test_syndication_counts_every_copy_across_runs_as_the_tables_hold_them(tmp_path):
    """Later runs' copies of earlier articles: the header's duplicates, the cluster-size chart and the most
    syndicated stories agree with the tables; the first copy is the earliest dated one of any run, its
    missing outlet is said, and a story with no dated copy has no first."""
    from tests.support.stories import stories, write_runs

    output = write_runs(tmp_path / "out")
    expected = stories(output)
    con = queries.connect(str(output))
    sizes = {r["size"]: r["clusters"] for r in queries.cluster_sizes(con)}
    assert sizes == {n: sum(s["copies"] == n for s in expected.values()) for n in {s["copies"] for s in expected.values()}}
    assert sum((size - 1) * clusters for size, clusters in sizes.items()) == queries.totals(con)["duplicates"] == 4
    found = {s["cluster_id"]: s for s in queries.syndicated_stories(con)}
    assert found.keys() == {cluster for cluster, s in expected.items() if s["copies"] > 1} == {"A", "B", "C"}
    for cluster, story in found.items():
        assert {key: story[key] for key in expected[cluster]} == expected[cluster], cluster
    assert found["A"]["first_outlet"] == "Earliest Post"  # a later run's copy, published before the article kept
    assert found["B"]["first_outlet"] == "(unknown)"  # never the outlet that ran it three years later
    assert (found["C"]["first_published"], found["C"]["undated_copies"]) == (None, 2)

    rows = {r["title"]: r for r in build_report_rows(output)}
    assert rows["Story C"]["first_outlet"] == rows["Story C"]["first_published"] == "unknown (no copy is dated)"
    assert (rows["Story B"]["first_outlet"], rows["Story B"]["first_published"]) == ("(unknown)", "2021-08-16 09:00")


def build_report_rows(output) -> list[dict]:
    """The most syndicated stories' table as the page shows it, read back from the HTML."""
    text = build_report(str(output))
    table = text.split("Most syndicated stories", 1)[1].split("</table>", 1)[0]
    head = re.findall(r"<th>(.*?)</th>", table)
    keys = {"title": "title", "first outlet": "first_outlet", "first published (UTC)": "first_published"}
    return [
        {keys.get(label, label): cell for label, cell in zip(head, re.findall(r"<td[^>]*>(.*?)</td>", row))}
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    ]


def test_a_story_row_says_when_who_ran_it_first_is_unknown():
    from pipelines.report import NO_DATED_COPY, story_row

    undated = {"title": None, "copies": 2, "first_published": None, "first_outlet": None, "undated_copies": 2, "outlets": ["X"]}
    assert story_row(undated) | {"copies": 2} == {
        **undated,
        "title": "(untitled)",
        "first_published": NO_DATED_COPY,
        "first_outlet": NO_DATED_COPY,
        "outlets": "X",
    }
    dated = undated | {"first_published": dt.datetime(2021, 6, 20, 6, 0, tzinfo=dt.UTC), "first_outlet": "(unknown)"}
    assert (story_row(dated)["first_published"], story_row(dated)["first_outlet"]) == ("2021-06-20 06:00", "(unknown)")


def test_the_page_escapes_every_value_it_is_given():
    from markupsafe import Markup

    from pipelines.report import Chart, render

    hostile = "<script>alert('x')</script>"
    data = {
        "output": hostile, "span": hostile, "generated": "now", "tiles": [(1234, hostile)], "period": "day",
        "per_period": None, "entities": [], "cluster_sizes": None, "languages": None, "errors": None,
        "stories": [{"title": hostile, "copies": 2, "first_outlet": hostile, "first_published": "x", "undated_copies": 0,
                     "outlets": hostile}],
        "runs": [{"run_id": hostile, "started_at": "", "status": "ok", "seconds": None, "documents": 1, "articles": 1,
                  "docs_per_s": ""}],
        "runs_chart": Chart("runs", Markup("<svg></svg>")),
    }  # fmt: skip
    text = render(data)
    assert "<script" not in text and text.count("&lt;script&gt;") == 7 and "1,234" in text
    assert "None" not in text  # a missing value is an empty cell
    assert "No dated article." in text and "Most syndicated stories" in text and 'data-chart="runs"><svg></svg>' in text


def test_articles_are_counted_on_the_publishers_day(tmp_path):
    """An article stamped 23:30 at -05:00 ran on the 31st, though it is 1 September in UTC: the report's
    days are ``published_date``'s, as the partitions are."""
    import dataclasses

    from transforms.schema import Article
    from transforms.write.parquet import TABLES, table_batches, write_parquet

    evening = dt.datetime(2021, 8, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    article = Article("a", "a.html", "https://e/a", "E", "T", (), evening, "en", "Text", "html", cluster_id="a")
    [(table, partition, rows)] = table_batches(dataclasses.replace(article, word_count=1))
    write_parquet(str(tmp_path / table / f"published_month={partition}" / "part-r-00000.parquet"), rows, TABLES[table])
    con = queries.connect(str(tmp_path))
    assert [r["day"] for r in queries.articles_per_period(con)] == [dt.date(2021, 8, 31)]
    assert (queries.totals(con)["first_day"], queries.totals(con)["last_day"]) == (dt.date(2021, 8, 31),) * 2
