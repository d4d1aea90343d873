"""Metadata figures of issue 27 (title, publication day, authors, outlet, body), baselines in the same run.

    python -m bench.metadata_eval [--eval ../shared/eval] [--workers 2] [--systems ours,trafilatura,...]

- news-pages-dev (194 HTML pages, 97 sites; gold title, day, authors, body): ours (``parse_document`` then
  ``clean_article``, plain functions), trafilatura's ``extract_metadata`` alone (with the URL), htmldate
  alone (extensive search, original date, with the URL) and newspaper4k (title, date, authors, text).
- dates-dev (94 HTML pages, 84 sites, many languages; gold day): the same systems' days. htmldate alone
  is given the HTML only, as in the set's README (84/94).
- news-pages-dev rendered to text (``bench.extraction_data.RENDERERS``, as extraction-dev was): ours on the
  dumps (``parse_text``), without and with the page's URL: title, day, authors, outlet filled.
- our multilingual dateline fixtures (tests/fixtures/datelines.tsv).

Metrics: a title is right when equal after NFKC, case folding, quotes and whitespace normalised; a day is
right when ours's ``published_date`` (the publisher's day; the UTC day of ``published_at`` is printed
beside it, as before) or a library's day equals the gold day (``within one day`` also counts the
neighbouring days); authors are micro-averaged set F1
of case-folded names (a page whose gold has none counts every name given as a false positive); the body is
the extraction benchmark's shingle F1. Nothing in the parse stage is fitted to these pages (the rules and
tables are general), so the figures are the figures; ``--folds`` reports them per site fold as well, to show
how much they vary across sites (the held-out sets check them).
Parse-stage throughput (pages per second of ``parse_document`` alone, one process) is printed for both sets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import re
import sys
import time
import unicodedata
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional

from bench.extraction_data import EVAL, RENDERERS, f1

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("ours", "trafilatura", "htmldate", "newspaper4k")
FOLDS = 5
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def norm(text: Optional[str]) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).casefold()
    return " ".join(text.split())


def load(folder: Path) -> list[dict]:
    pages = [json.loads(line) for line in (folder / "gold.jsonl").read_text().splitlines() if line.strip()]
    for page in pages:
        page["html"] = gzip.decompress((folder / "pages" / f"{page['id']}.html.gz").read_bytes()).decode("utf-8", "replace")
    return pages


def day_of(value) -> Optional[str]:
    """A datetime's UTC day, a date string's day (``YYYY-MM-DD``), or None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date().isoformat()
    match = re.match(r"\d{4}-\d{2}-\d{2}", str(value))
    return match.group(0) if match else None


# ------------------------------------------------------------------------------------------ systems


def ours(page: dict) -> dict:
    from transforms.clean import clean_article
    from transforms.parse import parse_document
    from transforms.schema import RawDocument

    start = time.perf_counter()
    try:
        article = parse_document(RawDocument(page["id"], page["id"], "html", page["html"], url=page["url"]))
    except ValueError as error:
        return {"error": str(error), "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    try:
        body = clean_article(article).text
    except ValueError:
        body = ""
    return {
        "title": article.title,
        "day": article.published_date.isoformat() if article.published_date else None,
        "utc_day": day_of(article.published_at),
        "source_of_date": article.published_source,
        "authors": list(article.authors),
        "agency": article.agency,
        "source": article.source,
        "body": body,
        "seconds": seconds,
    }


def trafilatura_alone(page: dict) -> dict:
    from trafilatura import extract_metadata

    meta = extract_metadata(page["html"], default_url=page["url"])
    if meta is None:
        return {}
    return {"title": meta.title, "day": day_of(meta.date), "authors": [a for a in (meta.author or "").split(";") if a.strip()]}


def htmldate_alone(page: dict, with_url: bool = True) -> dict:
    from htmldate import find_date

    return {
        "day": day_of(find_date(page["html"], url=page["url"] if with_url else None, original_date=True, extensive_search=True))
    }


def newspaper4k(page: dict) -> dict:
    warnings.filterwarnings("ignore")
    import newspaper

    try:
        article = newspaper.Article(page["url"], fetch_images=False)
        article.download(input_html=page["html"])
        article.parse()
    except Exception as error:  # newspaper raises its own errors on pages it cannot parse
        return {"error": str(error)}
    return {"title": article.title, "day": day_of(article.publish_date), "authors": list(article.authors), "body": article.text}


def run_page(job: tuple[str, dict, tuple[str, ...]]) -> dict:
    kind, page, systems = job
    out = {}
    for name in systems:
        if name == "ours":
            out[name] = ours(page)
        elif name == "trafilatura":
            out[name] = trafilatura_alone(page)
        elif name == "htmldate":
            out[name] = htmldate_alone(page, with_url=kind != "dates")
        elif name == "newspaper4k":
            out[name] = newspaper4k(page)
    if kind == "news" and "ours" in systems:
        out["dumps"] = {r: dump_metadata(render(page["html"]), page["url"]) for r, render in RENDERERS.items()}
    return out


def dump_metadata(text: str, url: str) -> dict:
    """Our metadata of a page rendered to text, read as a .txt file (no URL) and as a JSONL line with its URL."""
    from transforms.parse.text import parse_text
    from transforms.schema import RawDocument

    out = {}
    for label, given in (("file", None), ("url", url)):
        article = parse_text(RawDocument("d", "d", "text", text, url=given))
        out[label] = {
            "title": article.title,
            "day": day_of(article.published_at),
            "authors": list(article.authors),
            "source": article.source,
        }
    return out


# ------------------------------------------------------------------------------------------ metrics


def site_fold(site: str) -> int:
    return int(hashlib.md5(site.encode()).hexdigest()[:8], 16) % FOLDS


def title_score(outs: list[dict], golds: list[dict]) -> float:
    return sum(norm(o.get("title")) == norm(g["title"]) for o, g in zip(outs, golds)) / len(golds)


def day_score(outs: list[dict], golds: list[dict], key: str, slack: int = 0, field: str = "day") -> float:
    right = 0
    for o, g in zip(outs, golds):
        if o.get(field) and g.get(key):
            gap = abs((dt.date.fromisoformat(o[field]) - dt.date.fromisoformat(g[key])).days)
            right += gap <= slack
    return right / len(golds)


def author_score(outs: list[dict], golds: list[dict]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for o, g in zip(outs, golds):
        got, want = {norm(a) for a in o.get("authors") or ()}, {norm(a) for a in g.get("authors") or ()}
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    p, r = tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def news_row(name: str, outs: list[dict], golds: list[dict]) -> str:
    has = lambda key: any(key in o for o in outs)
    title = f"{title_score(outs, golds):6.3f}" if has("title") else f"{'':>6}"
    day = f"{day_score(outs, golds, 'published'):6.3f} ({day_score(outs, golds, 'published', 1):.3f})"
    p, r, f = author_score(outs, golds)
    authors = f"{f:6.3f} (P {p:.3f} R {r:.3f})" if has("authors") else ""
    body = f"{f1([o.get('body') or '' for o in outs], [g['body'] for g in golds])[2]:6.3f}" if has("body") else ""
    errors = sum("error" in o for o in outs)
    return f"  {name:34} {title} {day:>15} {authors:>23} {body:>6}  {errors:3d}"


def throughput(outs: list[dict]) -> str:
    seconds = sum(o.get("seconds", 0) for o in outs)
    return f"{len(outs) / seconds:.1f} pages/s" if seconds else "-"


def sources_line(outs: list[dict], golds: list[dict], key: str) -> str:
    """Per date source: pages, and how many of them have the right day."""
    counts: dict[str, list[int]] = {}
    for o, g in zip(outs, golds):
        entry = counts.setdefault(str(o.get("source_of_date")), [0, 0])
        entry[0] += 1
        entry[1] += o.get("day") == g.get(key)
    return ", ".join(f"{s} {n} ({right} right)" for s, (n, right) in sorted(counts.items(), key=lambda kv: -kv[1][0]))


def per_fold(outs: list[dict], golds: list[dict], score) -> str:
    values = []
    for fold in range(FOLDS):
        idx = [i for i, g in enumerate(golds) if site_fold(g["site"]) == fold]
        if idx:
            values.append(score([outs[i] for i in idx], [golds[i] for i in idx]))
    return " ".join(f"{v:.3f}" for v in values)


def date_candidates(job: tuple[str, dict]) -> dict:
    """One page's publication-time candidates by ``HTML_DATE_SOURCES`` name (as ``parse.html.published``
    sees them, a time stated in UTC put in the printed time's offset), each as (UTC day, the publisher's day)."""
    from htmldate import find_date
    from trafilatura.utils import load_html

    from transforms.parse import headline
    from transforms.parse import stated_dates as meta
    from transforms.parse.dates import first_plausible, parse_datetime
    from transforms.parse.html import date_candidates as candidates_of
    from transforms.parse.html import date_extraction

    _, p = job
    tree = load_html(p["html"])
    if tree is None:
        return {}
    found = find_date(tree, url=p["url"], **date_extraction(None))
    stated = [w for v in meta.meta_dates(tree) if (w := parse_datetime(v, None, own_offset=True))]
    names = headline.site_names(tree, p["url"], None)
    head = headline.headline(tree, headline.page_title(tree, names, headline.registered_domain(p["url"]), None))
    dateline = meta.first_dateline(tree, head)
    clock = meta.printed_time(dateline)
    out = {}
    for name, values in candidates_of(stated, meta.url_date(p["url"]), found, None, meta.printed_date(dateline)).items():
        when, _ = first_plausible(values)
        in_utc = when is not None and when.utcoffset() == dt.timedelta(0) and when.time() != dt.time(0)
        if in_utc and (offset := meta.printed_offset(when, clock)):  # as parse.html.published does
            when = when.astimezone(offset)
        if when is not None:
            out[name] = (when.astimezone(dt.UTC).date().isoformat(), when.date().isoformat())
    return out


ORDERS = (
    ("agreed", "html", "url", "printed", "search"),
    ("agreed", "html", "url", "search"),
    ("agreed", "html", "printed", "url", "search"),
    ("agreed", "printed", "html", "url", "search"),
    ("printed", "agreed", "html", "url", "search"),
    ("agreed", "search", "html", "url"),
    ("agreed", "url", "html", "search"),
    ("html", "url", "agreed", "search"),
    ("url", "agreed", "html", "search"),
    ("html", "agreed", "search"),
    ("url", "agreed", "search"),
)


def order_scores(cands: list[dict], golds: list[dict], key: str, own: bool) -> dict[tuple, float]:
    scores = {}
    for order in ORDERS:
        right = 0
        for c, g in zip(cands, golds):
            day = next((c[s][own] for s in order if s in c), None)
            right += day == g[key]
        scores[order] = right / len(golds)
    return scores


def order_cv(sets: list[tuple[list[dict], list[dict], str]], own: bool) -> tuple[list[tuple], list[float]]:
    """The source order chosen on four site folds of both sets together, measured on the fifth."""
    chosen, held = [], []
    for fold in range(FOLDS):
        train = [
            ([c for c, g in zip(cs, gs) if site_fold(g["site"]) != fold], [g for g in gs if site_fold(g["site"]) != fold], k)
            for cs, gs, k in sets
        ]
        totals = {o: sum(order_scores(c, g, k, own)[o] * len(g) for c, g, k in train) for o in ORDERS}
        best = max(ORDERS, key=lambda o: (totals[o], -ORDERS.index(o)))
        chosen.append(best)
        held.append(
            sum(
                next((c[s][own] for s in best if s in c), None) == g[k]
                for cs, gs, k in sets
                for c, g in zip(cs, gs)
                if site_fold(g["site"]) == fold
            )
        )
    total = sum(len(gs) for _, gs, _ in sets)
    return chosen, [sum(held) / total]


def dateline_fixtures() -> None:
    from transforms.parse.dates import find_date

    path = ROOT / "tests" / "fixtures" / "datelines.tsv"
    if not path.exists():
        return
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    right = 0
    for _lang, line, want in rows:
        got = find_date([line])
        right += (got.date().isoformat() if got else "") == want.strip()
    print(f"\n== own dateline fixtures ({len(rows)} lines, {len({r[0] for r in rows})} languages): day right {right}/{len(rows)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--folds", action="store_true", help="also print each figure per site fold")
    parser.add_argument("--dump", type=Path, help="write every page's outputs to this JSON file")
    args = parser.parse_args()
    systems = tuple(s for s in args.systems.split(",") if s)
    news_dir, dates_dir = args.eval / "news-pages-dev", args.eval / "dates-dev"
    if not (news_dir / "gold.jsonl").exists() or not (dates_dir / "gold.jsonl").exists():
        print(f"(skipped: no {news_dir} or {dates_dir})")
        return 0
    news, dates = load(news_dir), load(dates_dir)
    jobs = [("news", p, systems) for p in news] + [("dates", p, systems) for p in dates]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_page, jobs, chunksize=2))
    print(f"({len(jobs)} pages in {time.perf_counter() - start:.0f} s)")
    news_out, dates_out = results[: len(news)], results[len(news) :]
    if args.dump:
        args.dump.write_text(json.dumps({"news": news_out, "dates": dates_out}, default=str, indent=1))

    print(f"\n== news-pages-dev ({len(news)} pages, {len({p['site'] for p in news})} sites)")
    print(f"  {'system':34} {'title':>6} {'day (within 1)':>15} {'authors F1':>23} {'body':>6}  err")
    for name in systems:
        print(news_row(name, [r[name] for r in news_out], news))
    if "ours" in systems:
        outs = [r["ours"] for r in news_out]
        print(
            f"  {'ours, the UTC day of published_at':34} {'':>6} {day_score(outs, news, 'published', 0, 'utc_day'):6.3f} ({day_score(outs, news, 'published', 1, 'utc_day'):.3f})"
        )
    print(f"\n== dates-dev ({len(dates)} pages, {len({p['site'] for p in dates})} sites)")
    print(f"  {'system':34} {'day':>6} {'(within 1)':>10}  err")
    for name in systems:
        outs = [r[name] for r in dates_out]
        if any("day" in o for o in outs):
            errors = sum("error" in o for o in outs)
            print(f"  {name:34} {day_score(outs, dates, 'date'):6.3f} ({day_score(outs, dates, 'date', 1):.3f})    {errors:3d}")
            if name == "ours":
                utc = (day_score(outs, dates, "date", 0, "utc_day"), day_score(outs, dates, "date", 1, "utc_day"))
                print(f"  {'ours, the UTC day of published_at':34} {utc[0]:6.3f} ({utc[1]:.3f})")
    if "ours" in systems:
        ours_news, ours_dates = [r["ours"] for r in news_out], [r["ours"] for r in dates_out]
        print(f"\n  ours, date sources on news-pages-dev: {sources_line(ours_news, news, 'published')}")
        print(f"  ours, date sources on dates-dev: {sources_line(ours_dates, dates, 'date')}")
        print(f"  ours, agency given on news-pages-dev: {sum(bool(o.get('agency')) for o in ours_news)} pages")
        print(
            f"  parse stage alone (parse_document, one process): news-pages-dev {throughput(ours_news)}, dates-dev {throughput(ours_dates)}"
        )
        if args.folds:
            print(f"\n== ours per site fold ({FOLDS} folds by site)")
            print(f"  news-pages-dev title:   {per_fold(ours_news, news, title_score)}")
            print(f"  news-pages-dev day:     {per_fold(ours_news, news, lambda o, g: day_score(o, g, 'published'))}")
            print(f"  news-pages-dev authors: {per_fold(ours_news, news, lambda o, g: author_score(o, g)[2])}")
            print(f"  dates-dev day:          {per_fold(ours_dates, dates, lambda o, g: day_score(o, g, 'date'))}")
        for renderer in RENDERERS:
            for label in ("file", "url"):
                outs = [r["dumps"][renderer][label] for r in news_out]
                filled = sum(bool(o["source"]) for o in outs)
                print(
                    f"\n== news-pages-dev rendered by {renderer}, read as {'a .txt file' if label == 'file' else 'JSONL with its url'}: "
                    f"title {title_score(outs, news):.3f}, day {day_score(outs, news, 'published'):.3f} "
                    f"({day_score(outs, news, 'published', 1):.3f}), authors F1 {author_score(outs, news)[2]:.3f}, "
                    f"outlet filled {filled}/{len(news)}"
                )
    if "ours" in systems:
        with ProcessPoolExecutor(args.workers) as pool:
            news_c = list(pool.map(date_candidates, [("news", p) for p in news], chunksize=4))
            dates_c = list(pool.map(date_candidates, [("dates", p) for p in dates], chunksize=4))
        print("\n== publication day by the order of the sources tried (UTC day / the publisher's day)")
        for own in (0, 1):
            a, b = order_scores(news_c, news, "published", own), order_scores(dates_c, dates, "date", own)
            label = "publisher's day" if own else "UTC day"
            print("  " + label + ": " + "; ".join(f"{'>'.join(o)} {a[o]:.3f} / {b[o]:.3f}" for o in ORDERS))
            chosen, held = order_cv([(news_c, news, "published"), (dates_c, dates, "date")], own)
            print(
                f"  {label}, order chosen by site fold: {['>'.join(o) for o in chosen]}, held-out day right {held[0]:.3f} of both sets"
            )
            for cands, golds, key, name in ((news_c, news, "published", "news-pages-dev"), (dates_c, dates, "date", "dates-dev")):
                chosen, held = order_cv([(cands, golds, key)], own)
                print(f"  {label}, chosen on {name} alone by site fold: {sorted({'>'.join(o) for o in chosen})}, held out {held[0]:.3f}")
    dateline_fixtures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
