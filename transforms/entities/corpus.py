"""One label per name across the run: each name's label voted over every article of the run.

Within an article the majority label already wins (``mentions.vote_labels``), but the small models still
call the same name a PERSON in one story and an ORG in the next ("Tesla", "Moon"), so a report's top
entities split and mislead. A run is a larger sample: the label most of its mentions carry, when it has
a clear majority (``tables.CORPUS_MAJORITY``), is given to every mention of the name. Names are keyed by
the article's language and canonical name: two models' label sets differ (French pipelines have no GPE),
so they never outvote each other. Plain functions here; ``VoteLabelsAcrossRun`` is the Beam face:
a combine over the run's votes, then the decisions joined to the parcels of articles that read those names.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Optional

import apache_beam as beam

from transforms.entities.gazetteer import Gazetteer, load_gazetteer
from transforms.entities.geocode import with_places
from transforms.entities.tables import CORPUS_MAJORITY, VOTED_LABELS
from transforms.parcels import Park, Unpark, parcel_keys
from transforms.schema import PLACE_FIELDS, Article

NameKey = tuple[str, str]  # (the article's language, or "" when unknown; the entity's canonical name)


def name_key(article: Article, canonical: str) -> NameKey:
    return (article.language or "", canonical)


def label_votes(article: Article) -> list[tuple[NameKey, Counter]]:
    """The article's votes: per name, how many of its mentions carry each label (voted labels only)."""
    votes: dict[NameKey, Counter] = {}
    for e in article.entities:
        if e.label in VOTED_LABELS:
            votes.setdefault(name_key(article, e.canonical), Counter())[e.label] += 1
    return list(votes.items())


def merge_votes(counts: Iterable[Counter]) -> Counter:
    total: Counter = Counter()
    for c in counts:
        total.update(c)
    return total


def corpus_label(votes: Mapping[str, int], majority: float = CORPUS_MAJORITY) -> Optional[str]:
    """The label of a name seen with more than one: the commonest, when it holds more than ``majority``
    of the votes; None (each article keeps its own) for a name with one label or no clear winner."""
    if len(votes) < 2:
        return None
    label, n = max(votes.items(), key=lambda item: (item[1], item[0]))
    return label if n > majority * sum(votes.values()) else None


def relabel(article: Article, labels: Mapping[NameKey, str], gazetteer: Optional[Gazetteer] = None) -> Article:
    """The article with each name's run-wide label; places geocoded again when a label changed (a name
    that became a place is looked up, one that stopped being one loses its place)."""
    new = [labels.get(name_key(article, e.canonical)) if e.label in VOTED_LABELS else None for e in article.entities]
    if all(label is None or label == e.label for label, e in zip(new, article.entities)):
        return article
    unplaced = {name: None for name in PLACE_FIELDS}
    entities = [dataclasses.replace(e, label=label or e.label, **unplaced) for e, label in zip(article.entities, new)]
    return dataclasses.replace(article, entities=with_places(gazetteer or load_gazetteer(), entities, article.text))


def split_names(articles: Iterable[Article]) -> int:
    """How many names (language, canonical) carry two or more labels across the articles."""
    seen: dict[NameKey, set[str]] = {}
    for article in articles:
        for e in article.entities:
            if e.label in VOTED_LABELS:
                seen.setdefault(name_key(article, e.canonical), set()).add(e.label)
    return sum(len(labels) > 1 for labels in seen.values())


def vote_across(
    articles: list[Article], majority: float = CORPUS_MAJORITY, gazetteer: Optional[Gazetteer] = None
) -> list[Article]:
    """The whole vote over articles in memory (what the Beam face does in two passes): for the bench and tests."""
    totals: dict[NameKey, Counter] = {}
    for article in articles:
        for key, votes in label_votes(article):
            totals.setdefault(key, Counter()).update(votes)
    labels = {key: label for key, votes in totals.items() if (label := corpus_label(votes, majority))}
    return [relabel(article, labels, gazetteer) for article in articles]


class VoteLabelsAcrossRun(beam.PTransform):
    """Tagged articles -> the same articles, each name under its run-wide label. The articles are parked in
    parcels under ``folder`` (``transforms.parcels``): the decisions reach a parcel by two joins (name, then
    parcel), so the runner's groupings hold names and paths, not articles. Not a side input: decisions grow
    with the run's names, and on the DaskRunner a side input read beside its own lineage holds its elements
    several times (``tests/test_dask_defects.py::test_a_side_input_beside_its_own_lineage_holds_elements_several_times``)."""

    def __init__(self, folder: str, majority: float = CORPUS_MAJORITY):
        super().__init__()
        self.folder, self.majority = folder, majority

    def expand(self, articles):
        parcels = articles | "Park" >> beam.ParDo(Park(self.folder, label_votes))
        decided_labels = (
            parcels
            | "EachName" >> beam.FlatMap(lambda parcel: [vote for votes in parcel[1] for vote in votes])
            | "PerName" >> beam.CombinePerKey(merge_votes)
            | "Decide" >> beam.FlatMap(decided, self.majority)
        )
        readers = parcels | "Readers" >> beam.FlatMap(parcel_keys, lambda votes: (name for name, _ in votes))
        per_parcel = (
            {"label": decided_labels, "reader": readers}
            | "JoinNames" >> beam.CoGroupByKey()
            | "ToParcels" >> beam.FlatMap(_to_readers)
        )
        return {"parcels": parcels, "facts": per_parcel} | "Relabel" >> Unpark(self.folder, _relabelled)


def decided(name_votes: tuple[NameKey, Counter], majority: float) -> list[tuple[NameKey, str]]:
    """A name's run-wide label, when the vote decided one."""
    name, votes = name_votes
    label = corpus_label(votes, majority)
    return [(name, label)] if label else []


def _to_readers(joined) -> list[tuple[str, tuple[NameKey, str]]]:
    """(parcel path, (name, label)) for each parcel that reads a decided name."""
    name, groups = joined
    return [(path, (name, label)) for label in groups["label"] for path in groups["reader"]]


def _relabelled(articles: Iterable[Article], decided: list[tuple[NameKey, str]]) -> Iterable[Article]:
    labels = dict(decided)
    return (relabel(article, labels) for article in articles) if labels else articles
