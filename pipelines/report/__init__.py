"""``python -m pipelines.report OUTPUT [--out FILE]``: one self-contained HTML page of what the dataset
holds and how its runs went. Numbers from DuckDB over the Parquet tables (``queries``), charts as inline
SVG from matplotlib (``charts``), the page from a Jinja2 template (``templates/report.html.j2``): no
script, no network, one file to mail or archive.

``page_data`` gathers what the page shows (plain values, SVG charts); ``render`` fills the template with
it, every value escaped; ``build_report`` is the two."""

from __future__ import annotations

import datetime as dt
import functools
import os
from typing import NamedTuple, Optional

import jinja2
from apache_beam.io.filesystems import FileSystems
from markupsafe import Markup

from pipelines.report import charts, queries
from transforms.files import write_atomically

LONG_SPAN_DAYS = 90  # beyond this, articles are counted per week: daily bars would be slivers
TILES = {  # the header's counts: totals' key -> label
    "articles": "articles", "duplicates": "duplicates", "errors": "errors", "entity_rows": "entity rows", "sources": "sources"
}  # fmt: skip
NO_DATED_COPY = "unknown (no copy is dated)"


class Chart(NamedTuple):
    name: str  # the figure's data-chart attribute
    svg: Markup  # charts.py's SVG: markup we made, its text escaped by matplotlib


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("report.html.j2")


def render(data: dict) -> str:
    """The page of ``page_data``'s values."""
    return _template().render(**data)


def chart(name: str, svg: str) -> Chart:
    return Chart(name, Markup(svg))


def story_row(story: dict) -> dict:
    """A syndicated story as the table shows it: when no copy is dated, who ran it first is unknown."""
    first = story["first_published"]
    return {
        **story,
        "title": story["title"] or "(untitled)",
        "first_published": first.strftime("%Y-%m-%d %H:%M") if first else NO_DATED_COPY,
        "first_outlet": story["first_outlet"] if first else NO_DATED_COPY,
        "outlets": ", ".join(story["outlets"] or []),
    }


def run_row(run: dict) -> dict:
    """A run's stats file as a row of the run history."""
    counts = run.get("counts") or {}
    documents, seconds = counts.get("documents_read"), run.get("seconds")
    return {
        **run,
        "run_id": run.get("run_id", ""),
        "status": run.get("status", ""),
        "seconds": seconds,
        "started_at": str(run.get("started_at", ""))[:16].replace("T", " "),
        "documents": documents,
        "articles": counts.get("articles"),
        "docs_per_s": f"{documents / seconds:.1f}" if documents and seconds else "",
    }


def period_of(first_day: Optional[dt.date], last_day: Optional[dt.date]) -> str:
    """Articles are counted per day, or per week over a long span."""
    return "week" if first_day and (last_day - first_day).days > LONG_SPAN_DAYS else "day"


def entity_charts(con) -> list[tuple[str, Chart]]:
    """(label, chart of its top entities) for the most frequent labels."""
    found = queries.top_entities(con).items()
    return [
        (label, chart(f"entities_{label}", charts.barh([r["entity"] for r in top], [r["articles"] for r in top],
                                                       f"entities_{label}", "articles", color=charts.PALETTE[i % 10])))
        for i, (label, top) in enumerate(found)
    ]  # fmt: skip


def page_data(output: str, now: Optional[dt.datetime] = None) -> dict:
    """Everything the page shows, from the dataset under ``output``: the template's variables. A section
    with nothing to show has a false value (the page says so)."""
    con = queries.connect(output)
    totals = queries.totals(con)
    period = period_of(totals["first_day"], totals["last_day"])
    per_period, sizes = queries.articles_per_period(con, period), queries.cluster_sizes(con)
    langs, reasons = queries.languages(con), queries.error_reasons(con)
    runs = [run_row(run) for run in queries.run_history(output)]
    return {
        "output": os.path.abspath(output),
        "span": f"published {totals['first_day']} to {totals['last_day']}" if totals["first_day"] else "no dated article",
        "generated": (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "tiles": [(totals[key], label) for key, label in TILES.items()],
        "period": period,
        "per_period": per_period and chart("articles_per_day", charts.articles_per_period(per_period, period)),
        "entities": entity_charts(con),
        "cluster_sizes": sizes and chart("cluster_sizes", charts.bars(
            [r["size"] for r in sizes], [r["clusters"] for r in sizes], "cluster_sizes", "copies of the story", "stories")),
        "stories": [story_row(story) for story in queries.syndicated_stories(con)],
        "languages": langs and chart("languages", charts.barh(
            [r["language"] for r in langs], [r["articles"] for r in langs], "languages", "articles", width=3.6)),
        "errors": reasons and chart("errors", charts.barh(
            [f"{r['stage']}: {r['reason']}" for r in reasons], [r["rows"] for r in reasons], "errors", "error rows",
            width=7, color=charts.PALETTE[2])),
        "runs": runs,
        "runs_chart": runs and chart("runs", charts.bars(
            [r["run_id"][:6] for r in runs], [r["documents"] or 0 for r in runs], "runs", "run", "documents read",
            color=charts.PALETTE[4])),
    }  # fmt: skip


def build_report(output: str) -> str:
    """The report of the dataset under ``output`` as one HTML document."""
    return render(page_data(output))


def write_report(output: str, out: str | None = None) -> str:
    """Write the report (default ``OUTPUT/report.html``); returns its path."""
    out = out or FileSystems.join(output, "report.html")
    text = build_report(output).encode("utf-8")
    if "://" in out and not out.startswith("file://"):  # an object store: one whole object
        write_atomically(out, lambda sink: sink.write(text))
    else:
        with open(out, "wb") as handle:
            handle.write(text)
    return out
