"""Every figure of issues 12 and 28's extraction targets, with baselines measured in the same run.

    python -m bench.extraction_eval [--eval ../shared/eval] [--workers 2] [--html-only]

- extraction-dev and news-pages-dev HTML (``bench.extraction_html``): ours (parse + clean, and the parse
  stage alone) against trafilatura's settings alone, readability and jusText; the body rules we could ship
  (trafilatura's precise run alone, consensus of three) chosen by cross-validation over site folds of both
  sets, with bootstrap intervals by site.
- extraction-dev rendered to text by inscriptis and by an lxml get_text-style dump: ours (--boilerplate
  auto), and the same with the fitted settings (page-dump threshold and inside-the-prose scale, headline
  bonus, gap length, joined run mass) chosen by 5-fold cross-validation and measured on the held-out fold; baselines: the
  raw rendering and jusText.
- clean-text-dev bodies and the CoNLL-2003 dev news as text: kept, share of 4-word shingles (words) kept.
- the seeds and our own CJK/Arabic/Russian fixtures.
Parts whose data is absent are skipped with a note. Metric and data: ``bench.extraction_data``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.extraction_data import EVAL, RENDERERS, f1, kept_share, load_clean_articles, load_conll, load_extraction_dev
from bench.extraction_html import html_part
from transforms.clean import CleanSettings, clean_article, repair
from transforms.clean.boilerplate import classify, headline_positions, prose_fallback, select_body, smooth
from transforms.clean.dump import dump_evidence
from transforms.clean.language import detect_language
from transforms.clean.scripts import prose_lines
from transforms.clean.tables import LineSettings
from transforms.parse import parse_document
from transforms.schema import Article, RawDocument

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 5
THRESHOLDS = (1, 2, 3, 4, 5, 6, 8)
BODY_LINES = (5.0, 10.0, 20.0, 40.0, float("inf"))  # inside-the-prose evidence scale (DumpSettings.body_lines)
GRID = [(bonus, gap, run) for bonus in (1.0, 2.0, 3.0, 5.0) for gap in (0, 3, 6, 10) for run in (30.0, 60.0, 100.0, 150.0)]
CLEAN_COST = 3  # judging a clean text a dump can lose an article; keeping a page's chrome costs less


def ours_text(text: str, title=None, mode: str = "auto") -> str:
    article = Article("d", "d", None, None, title, (), None, None, text, "text")
    try:
        return clean_article(article, CleanSettings(mode)).text
    except ValueError:
        return ""


def justext_lines(text: str) -> str:
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return justext_html("<html><body>" + "".join(f"<p>{line}</p>" for line in esc.splitlines()) + "</body></html>")


def justext_html(html: str) -> str:
    import justext

    try:
        return "\n".join(p.text for p in justext.justext(html, justext.get_stoplist("English")) if not p.is_boilerplate)
    except Exception:  # jusText raises on markup lxml cannot parse
        return ""


def ours_html(page: dict) -> str:
    """Our text of one page, parsed as HTML and cleaned ("" when we make no article of it)."""
    try:
        raw = RawDocument(page["id"], page["id"], "html", page["html"], url=page["url"])
        return clean_article(parse_document(raw)).text
    except ValueError:
        return ""


def renderings(page: dict) -> dict[str, str]:
    """The page's text renderings (what a crawl that kept only text would have)."""
    return {r: render(page["html"]) for r, render in RENDERERS.items()}


def prepare(text: str) -> dict:
    """Repair, dump evidence and the parameter-free line classes of one text (for cross-validation)."""
    text = repair(text)
    raw = [t.strip() for t in text.splitlines() if t.strip()]
    lines = classify(raw, detect_language(prose_lines(raw)), LineSettings())
    return {
        "text": text,
        "scores": dump_scores(text),
        "raw": raw,
        "lines": lines,
        "kinds": smooth(lines),
        "anchors": headline_positions(raw, None),
    }


def dump_scores(text: str) -> dict[float, float]:
    """The page-dump score of a repaired text under each inside-the-prose scale."""
    evidence = dump_evidence(text)
    return {scale: evidence.score_with(scale) for scale in BODY_LINES}


def body(prep: dict, settings: LineSettings, threshold: float, scale: float) -> str:
    if prep["scores"][scale] < threshold:
        return prep["text"]
    keep = select_body(prep["lines"], prep["kinds"], settings, prep["anchors"]) or prose_fallback(prep["lines"], settings)
    return "\n\n".join(prep["raw"][i] for i in keep)


def cross_validate(pages, preps, clean_scores, conll_scores):
    """Held-out texts per renderer and held-out dump flags, fitting on 4 folds and measuring the 5th."""
    held = {r: [""] * len(pages) for r in RENDERERS}
    clean_flag, conll_flag, chosen = [False] * len(clean_scores), [False] * len(conll_scores), []
    for fold in range(FOLDS):
        train = lambda n, f=fold: [i for i in range(n) if i % FOLDS != f]

        def errors(t, scale, train=train):
            missed = sum(preps[r][i]["scores"][scale] < t for r in RENDERERS for i in train(len(pages)))
            false = sum(clean_scores[i][scale] >= t for i in train(len(clean_scores))) + sum(
                conll_scores[i][scale] >= t for i in train(len(conll_scores))
            )
            return CLEAN_COST * false + missed

        threshold, scale = min(((t, b) for t in THRESHOLDS for b in BODY_LINES), key=lambda tb: (errors(*tb), -tb[0], tb[1]))

        def score(params, train=train):
            s = dataclasses.replace(LineSettings(), anchor_bonus=params[0], max_gap_lines=params[1], min_run_units=params[2])
            idx = train(len(pages))
            return f1(
                [body(preps[r][i], s, 0, BODY_LINES[-1]) for r in RENDERERS for i in idx],
                [pages[i]["gold"] for r in RENDERERS for i in idx],
            )[2]

        bonus, gap, run = max(GRID, key=score)
        chosen.append((threshold, scale, bonus, gap, run))
        s = dataclasses.replace(LineSettings(), anchor_bonus=bonus, max_gap_lines=gap, min_run_units=run)
        for r in RENDERERS:
            for i in range(fold, len(pages), FOLDS):
                held[r][i] = body(preps[r][i], s, threshold, scale)
        for i in range(fold, len(clean_scores), FOLDS):
            clean_flag[i] = clean_scores[i][scale] >= threshold
        for i in range(fold, len(conll_scores), FOLDS):
            conll_flag[i] = conll_scores[i][scale] >= threshold
    return held, clean_flag, conll_flag, chosen


def row(name: str, outs: list[str], golds: list[str], seconds: float | None = None) -> str:
    p, r, f = f1(outs, golds)
    speed = f"{len(outs) / seconds:8.1f}" if seconds else f"{'-':>8}"
    return f"  {name:44} {p:6.3f} {r:6.3f} {f:6.3f} {sum(not o.strip() for o in outs):5d} {speed}"


def extraction_part(dev: Path, workers: int) -> tuple[list, list]:
    pages = load_extraction_dev(dev)
    golds = [p["gold"] for p in pages]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(renderings, pages, chunksize=4))
    header = f"  {'system':44} {'P':>6} {'R':>6} {'F1':>6} {'empty':>5} {'docs/s':>8}"
    for r in RENDERERS:
        texts = [res[r] for res in results]
        print(f"\n== extraction-dev rendered to text by {r} (target F1 >= 0.92, 0 empty)\n{header}")
        print(row("raw rendering", texts, golds))
        start = time.perf_counter()
        outs = [justext_lines(t) for t in texts]
        print(row("jusText on the rendering's lines", outs, golds, time.perf_counter() - start))
        for mode in ("auto", "on"):
            start = time.perf_counter()
            outs = [ours_text(t, mode=mode) for t in texts]
            print(row(f"ours, --boilerplate {mode} (shipped settings)", outs, golds, time.perf_counter() - start))
    return pages, [[res[r] for res in results] for r in RENDERERS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--html-only", action="store_true", help="only the HTML part (extraction-dev and news-pages-dev)")
    args = parser.parse_args()
    html_part(args.eval, args.workers)
    if args.html_only:
        return 0
    dev, clean_path, conll_path = (
        args.eval / "extraction-dev",
        args.eval / "clean-text-dev" / "articles.jsonl",
        args.eval / "ner-dev" / "eng.testa",
    )
    pages = renderings = articles = conll = None
    if (dev / "ground-truth.json").exists():
        pages, renderings = extraction_part(dev, args.workers)
    else:
        print(f"(skipped extraction-dev: no {dev})")
    if clean_path.exists():
        articles = load_clean_articles(clean_path)
        print(f"\n== clean-text-dev ({len(articles)} clean bodies; target: all kept, mean >= 0.995, none below 0.97)")
        systems = {
            "raw (identity)": lambda a: a["text"],
            "jusText": lambda a: justext_lines(a["text"]),
            "ours, --boilerplate auto": lambda a: ours_text(a["text"], a.get("title") or None),
        }
        for name, run in systems.items():
            start = time.perf_counter()
            shares = [kept_share(run(a), a["text"]) for a in articles]
            ms = 1000 * (time.perf_counter() - start) / len(articles)
            print(
                f"  {name:26} kept {sum(s > 0 for s in shares)}/{len(articles)}  mean {sum(shares) / len(shares):.4f}  min {min(shares):.3f}  below 0.97: {sum(s < 0.97 for s in shares)}  {ms:.1f} ms/doc"
            )
    else:
        print(f"(skipped clean-text-dev: no {clean_path})")
    if conll_path.exists():
        conll = load_conll(conll_path)
        print(f"\n== ner-dev eng.testa as text ({len(conll)} documents; target: all kept with all their words)")
        for name, run in {"jusText": justext_lines, "ours, --boilerplate auto": ours_text}.items():
            outs = [run(d) for d in conll]
            whole = sum(not (Counter(d.split()) - Counter(o.split())) for d, o in zip(conll, outs))
            print(f"  {name:26} kept {sum(bool(o.strip()) for o in outs)}/{len(conll)}, with all words {whole}/{len(conll)}")
    else:
        print(f"(skipped ner-dev: no {conll_path})")
    if pages and articles and conll:
        preps = {r: [prepare(t) for t in texts] for r, texts in zip(RENDERERS, renderings)}
        clean_scores = [dump_scores(repair(a["text"])) for a in articles]
        conll_scores = [dump_scores(repair(d)) for d in conll]
        held, clean_flag, conll_flag, chosen = cross_validate(pages, preps, clean_scores, conll_scores)
        print(
            f"\n== 5-fold cross-validated (threshold, inside scale, headline bonus, gap lines, joined run units) per fold: {chosen}"
        )
        for r in RENDERERS:
            print(row(f"{r}: held-out folds", held[r], [p["gold"] for p in pages]))
        print(
            f"  held out: clean bodies judged page dumps {sum(clean_flag)}/{len(articles)}, CoNLL documents {sum(conll_flag)}/{len(conll)}"
        )
    seeds_and_fixtures()
    return 0


def seeds_and_fixtures() -> None:
    banned = (
        "Newsletter",
        "Read more",
        "Google News",
        "Related Articles",
        "Editor's Choice",
        "Previous Article",
        "Leave a Reply",
    )
    print("\n== seeds (the CLI test checks 4 articles + 1 duplicate): words kept, chrome left")
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        out = ours_text(path.read_text())
        print(f"  {path.name[:3]}  words {len(out.split()):4d}  chrome {[b for b in banned if b in out] or 'none'}")
    fixtures = ROOT / "tests" / "fixtures" / "multilingual"
    print("\n== own fixtures: clean article kept whole / body of its page dump exact")
    for lang in ("zh", "ja", "ko", "ar", "ru"):
        article = (fixtures / f"{lang}_article.txt").read_text()
        paragraphs = [p.strip() for p in article.split("\n\n") if p.strip()]
        dump = ours_text((fixtures / f"{lang}_dump.txt").read_text())
        print(f"  {lang}: whole {ours_text(article) == repair(article)}, dump body exact {dump.split(chr(10) * 2) == paragraphs}")


if __name__ == "__main__":
    sys.exit(main())
