"""The HTML half of bench.extraction_eval: extraction-dev and news-pages-dev scored in one run, our
extractor against its baselines, and the body rules we could ship chosen by cross-validation over sites.

Every page goes through each extractor once (``candidates``); a body rule (``RULES``) builds its text from
those candidates, so the rules are compared on the same runs. The rule is chosen on four site folds of both
sets together (each set weighing the same: the mean of their F1) and measured on the fifth; a page's site
is in one fold only (``extraction_data.site_fold``). Each rule's gain over trafilatura's precise run alone
comes with a 95% interval from resampling sites (bootstrap, per set).
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.extraction_data import f1, load_extraction_dev, load_news_pages, page_scores, site_fold

FOLDS = 5
BOOTSTRAP = 1000


def candidates(page: dict) -> dict[str, tuple[str, float]]:
    """Each extractor's text of one page, with its seconds. ``ours``: the shipped parse and clean stages
    (``ours, before clean``: the parse stage's text, to see what the clean stage changes)."""
    import trafilatura

    from bench.consensus import readability_text, recall_text
    from bench.extraction_eval import justext_html
    from transforms.clean import clean_article
    from transforms.parse import parse_document
    from transforms.schema import RawDocument

    html, url = page["html"], page["url"]

    def bare(**settings) -> str:
        doc = trafilatura.bare_extraction(html, url=url, include_comments=False, include_tables=True, **settings)
        return (doc.text or "") if doc is not None else ""

    def ours() -> tuple[str, str]:
        try:
            article = parse_document(RawDocument(page["id"], page["id"], "html", html, url=url))
        except ValueError:
            return "", ""
        try:
            return article.text, clean_article(article).text
        except ValueError:
            return article.text, ""

    out: dict[str, tuple[str, float]] = {}
    start = time.perf_counter()
    raw, cleaned = ours()
    seconds = time.perf_counter() - start
    out["ours"], out["ours, before clean"] = (cleaned, seconds), (raw, seconds)
    runs = {
        "precise": lambda: bare(favor_precision=True, with_metadata=True),
        "recall": lambda: recall_text(html, url, True),
        "balanced": lambda: bare(no_fallback=True),
        "defaults": lambda: trafilatura.extract(html, url=url) or "",
        "readability": lambda: readability_text(html),
        "jusText": lambda: justext_html(html),
    }
    for name, run in runs.items():
        start = time.perf_counter()
        out[name] = (run(), time.perf_counter() - start)
    return out


def consensus_of(names: tuple[str, ...], gated: bool = True):
    """A body rule: the consensus (``bench.consensus``) of these candidates; ``gated``: the precise text
    when it and readability already agree (``consensus.SETTLED``), as the parse stage does."""
    from bench.consensus import SETTLED, agreement, consensus, shingles

    def rule(texts: dict[str, str]) -> str:
        if gated and agreement(shingles(texts["precise"]), shingles(texts["readability"])) >= SETTLED:
            return texts["precise"]
        return consensus([texts[n] for n in names])

    return rule


# The body rules compared (simplest first: ties go to the earlier one).
RULES = {
    "trafilatura precise alone": lambda texts: texts["precise"],
    "consensus: precise, recall, readability": consensus_of(("precise", "recall", "readability")),
    "consensus: precise, balanced, readability": consensus_of(("precise", "balanced", "readability")),
}
BASELINES = (
    "ours, before clean",
    "recall",
    "balanced",
    "defaults",
    "readability",
    "jusText",
)
LABELS = {
    "ours": "ours (parse + clean, shipped)",
    "ours, before clean": "ours, parse stage alone (before clean)",
    "recall": "trafilatura favor_recall",
    "balanced": "trafilatura balanced, no fallback",
    "defaults": "trafilatura.extract defaults",
    "readability": "readability (trafilatura's port)",
    "jusText": "jusText on html",
}


def row(name: str, outs: list[str], golds: list[str], seconds: float | None = None) -> str:
    p, r, f = f1(outs, golds)
    speed = f"{1000 * seconds / len(outs):8.0f}" if seconds else f"{'-':>8}"
    return f"  {name:46} {p:6.3f} {r:6.3f} {f:6.4f} {sum(not o.strip() for o in outs):5d} {speed}"


def cross_validate(sets: dict[str, list[dict]], bodies: dict[str, dict[str, list[str]]]) -> tuple[dict, list[str]]:
    """Held-out texts per set: the rule with the best mean F1 of both sets on four site folds, applied to the fifth."""
    held = {name: [""] * len(pages) for name, pages in sets.items()}
    chosen = []
    for fold in range(FOLDS):

        def train_score(rule: str, fold: int = fold) -> float:
            scores = []
            for name, pages in sets.items():
                idx = [i for i, p in enumerate(pages) if site_fold(p["site"], FOLDS) != fold]
                scores.append(f1([bodies[name][rule][i] for i in idx], [pages[i]["gold"] for i in idx])[2])
            return sum(scores) / len(scores)

        best = max(RULES, key=lambda rule: (train_score(rule), -list(RULES).index(rule)))
        chosen.append(best)
        for name, pages in sets.items():
            for i, p in enumerate(pages):
                if site_fold(p["site"], FOLDS) == fold:
                    held[name][i] = bodies[name][best][i]
    return held, chosen


def gain_interval(pages: list[dict], outs: list[str], base: list[str], seed: int = 0) -> tuple[float, float]:
    """95% interval of F1(outs) - F1(base), resampling the set's sites with replacement."""
    scores = [(page_scores(o, p["gold"]), page_scores(b, p["gold"])) for o, b, p in zip(outs, base, pages)]
    by_site: dict[str, list[int]] = {}
    for i, p in enumerate(pages):
        by_site.setdefault(p["site"], []).append(i)
    sites, rng, gains = list(by_site), random.Random(seed), []

    def mean_f1(pairs: list[tuple[float, float]]) -> float:
        precision, recall = sum(q for q, _ in pairs) / len(pairs), sum(r for _, r in pairs) / len(pairs)
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    for _ in range(BOOTSTRAP):
        idx = [i for s in rng.choices(sites, k=len(sites)) for i in by_site[s]]
        gains.append(mean_f1([scores[i][0] for i in idx]) - mean_f1([scores[i][1] for i in idx]))
    gains.sort()
    return gains[int(0.025 * BOOTSTRAP)], gains[int(0.975 * BOOTSTRAP) - 1]


def per_fold(pages: list[dict], outs: list[str]) -> str:
    values = []
    for fold in range(FOLDS):
        idx = [i for i, p in enumerate(pages) if site_fold(p["site"], FOLDS) == fold]
        values.append(f1([outs[i] for i in idx], [pages[i]["gold"] for i in idx])[2])
    return " ".join(f"{v:.3f}" for v in values)


def html_part(root: Path, workers: int) -> None:
    sets = {}
    if (root / "extraction-dev" / "ground-truth.json").exists():
        sets["extraction-dev"] = load_extraction_dev(root / "extraction-dev")
    if (root / "news-pages-dev" / "gold.jsonl").exists():
        sets["news-pages-dev"] = load_news_pages(root / "news-pages-dev")
    if not sets:
        print(f"(skipped HTML: no extraction-dev or news-pages-dev at {root})")
        return
    jobs = [p for pages in sets.values() for p in pages]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(candidates, jobs, chunksize=2))
    runs, start = {}, 0
    for name, pages in sets.items():
        runs[name], start = results[start : start + len(pages)], start + len(pages)
    bodies = {
        name: {
            **{rule: [make({k: v[0] for k, v in r.items()}) for r in runs[name]] for rule, make in RULES.items()},
            **{c: [r[c][0] for r in runs[name]] for c in ("ours", *BASELINES)},
        }
        for name in sets
    }
    header = f"  {'system':46} {'P':>6} {'R':>6} {'F1':>6} {'empty':>5} {'ms/page':>8}"
    for name, pages in sets.items():
        golds = [p["gold"] for p in pages]
        print(
            f"\n== {name} HTML ({len(pages)} pages, {len({p['site'] for p in pages})} sites; target F1 >= 0.97, 0 empty)\n{header}"
        )
        print(row(LABELS["ours"], bodies[name]["ours"], golds, sum(r["ours"][1] for r in runs[name])))
        for rule in RULES:
            print(row(f"rule: {rule}", bodies[name][rule], golds))
        for c in BASELINES:
            print(row(LABELS[c], bodies[name][c], golds, sum(r[c][1] for r in runs[name])))
        same = {rule: sum(a == b for a, b in zip(bodies[name][rule], bodies[name]["ours, before clean"])) for rule in RULES}
        print(f"  ours (before clean) is the same text as: {', '.join(f'{rule} {n}/{len(pages)}' for rule, n in same.items())}")
        base = bodies[name]["trafilatura precise alone"]
        for rule in list(RULES)[1:]:
            low, high = gain_interval(pages, bodies[name][rule], base)
            print(f"  gain of '{rule}' over precise alone: 95% interval by site [{low:+.4f}, {high:+.4f}]")
        print(f"  ours per site fold: {per_fold(pages, bodies[name]['ours'])}")
    if len(sets) > 1:
        held, chosen = cross_validate(sets, bodies)
        print(f"\n== body rule chosen on 4 site folds of both sets (mean F1 of the two), measured on the 5th: {chosen}")
        for name, pages in sets.items():
            print(row(f"{name}: held-out folds", held[name], [p["gold"] for p in pages]))
