"""``python -m pipelines.report OUTPUT [--out FILE]``: one self-contained HTML page of what the dataset
holds and how its runs went. Numbers from DuckDB over the Parquet tables (``queries``), charts as inline
SVG from matplotlib (``charts``): no script, no network, one file to mail or archive."""

from __future__ import annotations

import datetime as dt
import html
import os

from apache_beam.io.filesystems import FileSystems

from pipelines.report import charts, queries
from transforms.files import write_atomically

LONG_SPAN_DAYS = 90  # beyond this, articles are counted per week: daily bars would be slivers
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .empty { color: #888; font-style: italic; }
.tiles { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.tile { background: #f5f7fa; border-radius: 6px; padding: .5rem .9rem; } .tile b { display: block; font-size: 1.3rem; }
.grid { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; } figure { margin: .5rem 0; } figcaption { font-weight: 600; }
figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; margin: .5rem 0; }
th, td { padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #ccc; } tr:nth-child(even) td { background: #fafafa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(rows: list[dict], columns: dict[str, str], numeric: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if key in numeric else ''}>{_e(row.get(key))}</td>" for key in columns) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(name: str, svg: str, caption: str = "") -> str:
    caption = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart" data-chart="{_e(name)}">{caption}{svg}</figure>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _empty(what: str) -> str:
    return f'<p class="empty">{_e(what)}</p>'


def build_report(output: str) -> str:
    """The report of the dataset under ``output`` as one HTML document."""
    con = queries.connect(output)
    totals = queries.totals(con)
    tiles = "".join(
        f'<div class="tile"><b>{_e(f"{totals[key]:,}")}</b>{_e(label)}</div>'
        for key, label in [
            ("articles", "articles"),
            ("duplicates", "duplicates"),
            ("errors", "errors"),
            ("entity_rows", "entity rows"),
            ("sources", "sources"),
        ]
    )
    span = f"published {totals['first_day']} to {totals['last_day']}" if totals["first_day"] else "no dated article"

    long = totals["first_day"] and (totals["last_day"] - totals["first_day"]).days > LONG_SPAN_DAYS
    period = "week" if long else "day"
    per_day = queries.articles_per_period(con, period)
    days = _chart("articles_per_day", charts.articles_per_period(per_day, period)) if per_day else _empty("No dated article.")

    entities = queries.top_entities(con)
    entity_charts = "".join(
        _chart(
            f"entities_{label}",
            charts.barh(
                [r["entity"] for r in found],
                [r["articles"] for r in found],
                f"entities_{label}",
                "articles",
                color=charts.PALETTE[i % 10],
            ),
            label,
        )
        for i, (label, found) in enumerate(entities.items())
    )
    entity_body = f'<div class="grid">{entity_charts}</div>' if entities else _empty("No entity.")

    sizes = queries.cluster_sizes(con)
    stories = queries.syndicated_stories(con)
    for story in stories:
        story["outlets"] = ", ".join(story["outlets"] or [])
        story["published_at"] = story["published_at"].strftime("%Y-%m-%d %H:%M") if story["published_at"] else "undated"
    syndication = (
        _chart(
            "cluster_sizes",
            charts.bars(
                [r["size"] for r in sizes],
                [r["clusters"] for r in sizes],
                "cluster_sizes",
                "copies of the story (cluster size)",
                "stories",
            ),
        )
        if sizes
        else _empty("No article.")
    )
    syndication += (
        "<h3>Most syndicated stories</h3>"
        + _table(
            stories,
            {
                "title": "title",
                "copies": "copies",
                "first_publisher": "first publisher",
                "published_at": "first published (UTC)",
                "outlets": "outlets",
            },
            ("copies",),
        )
        if stories
        else _empty("No story was published more than once.")
    )

    langs = queries.languages(con)
    languages = (
        _chart(
            "languages",
            charts.barh([r["language"] for r in langs], [r["articles"] for r in langs], "languages", "articles", width=3.6),
        )
        if langs
        else _empty("No article.")
    )

    reasons = queries.error_reasons(con)
    errors = (
        _chart(
            "errors",
            charts.barh(
                [f"{r['stage']}: {r['reason']}" for r in reasons],
                [r["rows"] for r in reasons],
                "errors",
                "error rows",
                width=7,
                color=charts.PALETTE[2],
            ),
        )
        if reasons
        else _empty("No error: every document became an article or a duplicate.")
    )

    history = queries.run_history(output)
    for run in history:
        run["started_at"] = run.get("started_at", "")[:16].replace("T", " ")
        run["documents"] = run.get("counts", {}).get("documents_read")
        run["articles"] = run.get("counts", {}).get("articles")
        run["docs_per_s"] = f"{run['documents'] / run['seconds']:.1f}" if run.get("documents") and run.get("seconds") else ""
    runs = (
        _chart(
            "runs",
            charts.bars(
                [r["run_id"][:6] for r in history],
                [r.get("documents") or 0 for r in history],
                "runs",
                "run",
                "documents read",
                color=charts.PALETTE[4],
            ),
        )
        + _table(
            history,
            {
                "run_id": "run",
                "started_at": "started",
                "status": "status",
                "seconds": "seconds",
                "documents": "documents",
                "articles": "articles",
                "docs_per_s": "docs/s",
            },
            ("seconds", "documents", "articles", "docs_per_s"),
        )
        if history
        else _empty("No run stats (OUTPUT/_runs) found.")
    )

    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(
        [
            f"<h1>news-ingest report</h1><p class=meta>{_e(os.path.abspath(output))} · {_e(span)} · generated {generated}</p>",
            f'<div class="tiles">{tiles}</div>',
            _section(f"Articles per {period}, by source", days),
            _section("Top entities per label (articles mentioning them)", entity_body),
            _section("Syndication: how many times each story ran", syndication),
            _section("Languages", languages),
            _section("Errors by stage and reason", errors),
            _section("Run history", runs),
        ]
    )
    head = f'<meta charset="utf-8"><title>news-ingest report</title><style>{CSS}</style>'
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body>{body}</body></html>'


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
