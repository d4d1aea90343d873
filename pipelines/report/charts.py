"""The report's charts: matplotlib figures rendered to inline SVG, text kept as text (small files,
searchable, no fonts embedded), each with its own id salt so that many SVGs can share one page.

Labels are data (outlet names, entities, error reasons): never typeset as mathtext or LaTeX (an outlet
called ``Bad $\\frac{$ Herald`` is a parse error, nested ``\\sqrt`` a RecursionError), shown on one line
and shortened."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to SVG

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
STYLE = {
    "svg.fonttype": "none",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "text.parse_math": False,  # every Text made inside the style shows "$" as a dollar sign
    "text.usetex": False,
}
LABEL_CHARS = 60


def label(value) -> str:
    """A data value as a chart label: one line of printable characters, at most ``LABEL_CHARS``; a
    leading "_" (which would hide it from a legend) kept visible behind a zero-width space."""
    text = "".join(c if c.isprintable() else "\ufffd" for c in " ".join(str(value).split()))
    text = text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
    return "\u200b" + text if text.startswith("_") else text


def to_svg(figure, name: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ids salted by ``name``."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def articles_per_period(per_day: list[dict], period: str) -> str:
    """Stacked bars: articles per day (the publisher's, ``published_date``) or week, by source."""
    with matplotlib.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(9, 3.2))
        days = sorted({r["day"] for r in per_day})
        sources = sorted({r["source"] for r in per_day}, key=lambda s: (s == "other", s))
        counts = {(r["day"], r["source"]): r["articles"] for r in per_day}
        bottom = [0] * len(days)
        width = 0.8 * (7 if period == "week" else 1)
        for source in sources:
            heights = [counts.get((day, source), 0) for day in days]
            axes.bar(days, heights, bottom=bottom, label=label(source), width=width)
            bottom = [b + h for b, h in zip(bottom, heights)]
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(axes.xaxis.get_major_locator()))
        axes.set_ylabel(f"articles per {period}")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return to_svg(figure, "articles_per_period")


def barh(labels: list[str], values: list[float], name: str, xlabel: str, width: float = 4.2, color: str = PALETTE[0]) -> str:
    """Horizontal bars, the first label on top."""
    with matplotlib.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(width, 0.6 + 0.24 * max(1, len(labels))))
        axes.barh(range(len(labels)), values, color=color)
        axes.set_yticks(range(len(labels)), [label(text) for text in labels])
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for index, value in enumerate(values):
            axes.annotate(f"{value:,}", (value, index), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        return to_svg(figure, name)


def bars(labels: list[str], values: list[float], name: str, xlabel: str, ylabel: str, color: str = PALETTE[0]) -> str:
    """Vertical bars over categories (cluster sizes, runs)."""
    with matplotlib.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(4.6, 2.8))
        axes.bar([label(text) for text in labels], values, color=color)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(labels) > 12:
            axes.tick_params(axis="x", labelrotation=90)
        return to_svg(figure, name)
