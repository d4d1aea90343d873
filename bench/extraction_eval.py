"""Extraction quality on the article-extraction dev set: our HTML path and our plain-text path.

    python -m bench.extraction_eval [--dev ../shared/eval/extraction-dev] [--workers 2]

The metric is the benchmark's own (its README): ``\\w+`` tokens, 4-token shingles counted with
multiplicity, each page's TP/FP/FN normalised to sum to 1, precision and recall averaged over pages.
Baselines are measured in the same run: trafilatura with its defaults, the raw text rendering of each
page (inscriptis, menus and lists included), and jusText on that rendering's lines.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from transforms.clean import clean_article  # noqa: E402
from transforms.parse import parse_document  # noqa: E402
from transforms.schema import RawDocument  # noqa: E402

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "extraction-dev"


def shingles(text: str) -> Counter:
    tokens = re.findall(r"\w+", text or "")
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def page_scores(predicted: str, gold: str) -> tuple[float, float]:
    p, g = shingles(predicted), shingles(gold)
    tp, fp, fn = sum((p & g).values()), sum((p - g).values()), sum((g - p).values())
    total = tp + fp + fn
    if total == 0:
        return 1.0, 1.0
    tp, fp, fn = tp / total, fp / total, fn / total
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def render_text(html: str) -> str:
    from inscriptis import get_text

    return get_text(html)


def ours(raw: RawDocument) -> str:
    try:
        return clean_article(parse_document(raw)).text
    except ValueError:
        return ""


def extract_all(item: tuple[str, str, str]) -> dict[str, tuple[str, float]]:
    """Every system's text for one page, with the seconds each took."""
    import justext
    import trafilatura

    key, url, html = item
    rendering = render_text(html)
    systems = {
        "ours: html": lambda: ours(RawDocument(key, key, "html", html, url=url)),
        "ours: text": lambda: ours(RawDocument(key, key, "text", rendering)),
        "trafilatura defaults": lambda: trafilatura.extract(html, url=url) or "",
        "raw text rendering": lambda: rendering,
        "jusText on rendering": lambda: "\n".join(
            p.text
            for p in justext.justext(
                "<html><body>" + "".join(f"<p>{_esc(line)}</p>" for line in rendering.splitlines()) + "</body></html>",
                justext.get_stoplist("English"),
            )
            if not p.is_boilerplate
        ),
    }
    out = {}
    for name, run in systems.items():
        start = time.perf_counter()
        text = run()
        out[name] = (text, time.perf_counter() - start)
    return out


def _esc(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (args.dev / "ground-truth.json").exists():
        print(f"no dev set at {args.dev}", file=sys.stderr)
        return 2
    gold = json.loads((args.dev / "ground-truth.json").read_text())
    items = [
        (key, page["url"], gzip.decompress((args.dev / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace"))
        for key, page in gold.items()
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(extract_all, items, chunksize=4))
    megabytes = sum(len(html.encode()) for _, _, html in items) / 1e6
    print(f"{len(items)} pages, {megabytes:.1f} MB of HTML")
    print(f"{'system':24} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8} {'MB/s':>6}")
    for name in results[0]:
        scores = [page_scores(r[name][0], gold[key]["articleBody"]) for (key, _, _), r in zip(items, results)]
        precision = sum(s[0] for s in scores) / len(scores)
        recall = sum(s[1] for s in scores) / len(scores)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        seconds = sum(r[name][1] for r in results)
        speed = f"{len(items) / seconds:8.1f} {megabytes / seconds:6.2f}" if seconds > 1e-3 else f"{'-':>8} {'-':>6}"
        print(f"{name:24} {precision:9.3f} {recall:7.3f} {f1:6.3f} {speed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
