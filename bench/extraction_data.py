"""The dev sets of bench.extraction_eval, read from ../shared/eval at run time (never copied into the repo),
two text renderings of a page, and the benchmark's metric.

The metric is the extraction benchmark's own: ``\\w+`` tokens (characters for Chinese, Japanese and Thai
text), 4-token shingles counted with multiplicity, each page's TP/FP/FN normalised to sum to 1, precision
and recall averaged over pages.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

# ../shared beside the checkout, or NEWS_SHARED (as for the tests: a worktree elsewhere can point at it).
EVAL = Path(os.environ.get("NEWS_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "eval"


_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
        "option",
        "select",
        "button",
        "label",
    ]
)
_SKIP = frozenset(["script", "style", "noscript", "template", "svg", "head", "iframe"])


def render_lxml(html: str) -> str:
    """A get_text-style dump: every text node, a newline around each block element (menus included)."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:
        return ""
    out: list[str] = []

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP:
            if el.tail:
                out.append(el.tail)
            return
        block = tag in _BLOCK
        if block:
            out.append("\n")
        if el.text and tag:
            out.append(el.text)
        for child in el:
            walk(child)
        if block:
            out.append("\n")
        if el.tail:
            out.append(el.tail)

    walk(root)
    text = "".join(out)
    return "\n".join(re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n"))


def render_inscriptis(html: str) -> str:
    from inscriptis import get_text

    return get_text(html)


RENDERERS = {"inscriptis": render_inscriptis, "lxml": render_lxml}


def load_extraction_dev(dev: Path) -> list[dict]:
    """[{id, url, gold, html, site}] of the extraction dev set (site: the URL's host without ``www.``)."""
    gold = json.loads((dev / "ground-truth.json").read_text())
    return [
        {
            "id": key,
            "url": gold[key]["url"],
            "gold": gold[key]["articleBody"],
            "html": gzip.decompress((dev / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace"),
            "site": (urlsplit(gold[key]["url"]).hostname or "").removeprefix("www."),
        }
        for key in sorted(gold)
    ]


def load_news_pages(folder: Path) -> list[dict]:
    """[{id, url, gold, html, site}] of news-pages-dev (gold: its hand-cleaned body; site: the dataset's own
    site field, two pages each, where the URL's host splits four of them)."""
    pages = []
    for line in (folder / "gold.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            html = gzip.decompress((folder / "pages" / f"{row['id']}.html.gz").read_bytes()).decode("utf-8", "replace")
            pages.append({"id": row["id"], "url": row["url"], "gold": row["body"], "html": html, "site": row["source_site"]})
    return pages


def site_fold(site: str, folds: int = 5) -> int:
    """A site's cross-validation fold (every page of a site in the same fold), stable across runs."""
    return int(hashlib.md5(site.encode()).hexdigest()[:8], 16) % folds


def load_clean_articles(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_conll(path: Path) -> list[str]:
    """One text per -DOCSTART-: tokens joined by spaces, one sentence per line."""
    docs, sentences, tokens = [], [], []
    for line in path.read_text().splitlines():
        if line.startswith("-DOCSTART-"):
            if tokens:
                sentences.append(" ".join(tokens))
            if sentences:
                docs.append("\n".join(sentences))
            sentences, tokens = [], []
        elif not line.strip():
            if tokens:
                sentences.append(" ".join(tokens))
            tokens = []
        else:
            tokens.append(line.split()[0])
    if tokens:
        sentences.append(" ".join(tokens))
    if sentences:
        docs.append("\n".join(sentences))
    return docs


_DENSE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")


def units_of(text: str) -> list[str]:
    """Shingle units: \\w+ tokens; for Chinese/Japanese/Thai text (a third of its letters or more),
    every non-space character is a unit (4-character shingles)."""
    letters = re.findall(r"[^\W\d_]", text)
    if letters and sum(bool(_DENSE.match(c)) for c in letters) >= len(letters) / 3:
        return [c for c in text if not c.isspace()]
    return re.findall(r"\w+", text or "")


def shingles(text: str) -> Counter:
    tokens = units_of(text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def kept_share(output: str, gold: str) -> float:
    """Share of the gold's shingles (with multiplicity) present in the output."""
    g = shingles(gold)
    if not g:
        return 1.0
    return sum((shingles(output) & g).values()) / sum(g.values())


def page_scores(predicted: str, gold: str) -> tuple[float, float]:
    """The benchmark's per-page precision and recall (bench/extraction_eval.py)."""
    p, g = shingles(predicted), shingles(gold)
    tp, fp, fn = sum((p & g).values()), sum((p - g).values()), sum((g - p).values())
    total = tp + fp + fn
    if total == 0:
        return 1.0, 1.0
    tp, fp, fn = tp / total, fp / total, fn / total
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def f1(outputs: list[str], golds: list[str]) -> tuple[float, float, float]:
    scores = [page_scores(o, g) for o, g in zip(outputs, golds)]
    p = sum(s[0] for s in scores) / len(scores)
    r = sum(s[1] for s in scores) / len(scores)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
