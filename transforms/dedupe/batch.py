"""Batch dedupe as Beam transforms that scale out with the corpus: no worker holds an index of all documents.

Each step is a named sub-transform: exact edges (articles with the same content hash), candidate pairs
(representatives sharing an LSH band key, grouped by bucket so a grouping holds a few thousand keys, not
millions), verification (each pair joined to both signatures and, when similar enough, to both outlines,
read from the parked fingerprints: carrying whole sketches under every band key, with every pair, or in
every summary would make this the pipeline's largest shuffle), components (union-find as a
``CombineFn``: partial forests merge, so memory grows with the duplicated documents only) and decisions
(each cluster keeps its canonical article).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from typing import Optional

import apache_beam as beam

from transforms.dedupe.across_runs import (
    AddToIndex,
    EarlierClusters,
    IndexPlace,
    LookUpEarlier,
    copy_of_earlier,
    indexed_sketch,
    parked_id,
)
from transforms.dedupe.clusters import (
    ConnectedComponents,
    Decision,
    apply_decision,
    bucket_pairs,
    cluster_decisions,
    copy_edges,
    exact_duplicate_edges,
    fewest_candidates,
    similar_pairs,
    swapped,
)
from transforms.dedupe.fingerprints import (
    DedupeSettings,
    Fingerprint,
    bucketed_band_keys,
    fingerprint,
    signature_only,
    with_content_hash,
)
from transforms.dedupe.index import Earlier
from transforms.parcels import LookUpParked, Park, Unpark, parcel_keys
from transforms.schema import DEDUPE, Article, Duplicate, IndexedSketch
from transforms.stage import CANDIDATE_PAIRS, VERIFIED_PAIRS, SplitByType, count_as, count_in


def _first_of_group(group) -> object:
    return min(group[1], key=lambda member: member.article_id)


class ExactEdges(beam.PTransform):
    """Fingerprints -> (edges from every member of a content-hash group to its first, one representative
    fingerprint per content hash for the near-duplicate search)."""

    def expand(self, fingerprints):
        groups = fingerprints | "ByContentHash" >> beam.Map(lambda f: (f.content_hash, f)) | "ExactGroups" >> beam.GroupByKey()
        edges = groups | "Edges" >> beam.FlatMap(lambda group: exact_duplicate_edges(group[1]))
        return edges, groups | "Representatives" >> beam.Map(_first_of_group)


def _band_items(fp, settings: DedupeSettings) -> Iterator[tuple[str, tuple[str, str]]]:
    return ((bucket, (key, fp.article_id)) for bucket, key in bucketed_band_keys(fp.sketch.signature, settings))


class CandidatePairs(beam.PTransform):
    """Fingerprints -> distinct (smaller id, larger id) pairs that share ``min_shared_bands`` LSH band keys
    or more: a star around each band key's first members, then each article's ``MAX_ANCHORS`` partners
    sharing the most keys (``clusters.fewest_candidates``), so a flood of near-identical documents costs a
    few candidates each."""

    def __init__(self, settings: DedupeSettings):
        super().__init__()
        self.settings = settings

    def expand(self, fingerprints):
        return (
            fingerprints
            | "BandKeys" >> beam.FlatMap(_band_items, self.settings)
            | "ByBucket" >> beam.GroupByKey()
            | "Pairs" >> beam.FlatMap(lambda group: bucket_pairs(group[1]))
            | "BySecond" >> beam.Map(swapped).with_output_types(tuple[str, str])
            | "PerArticle" >> beam.GroupByKey()
            | "Fewest" >> beam.FlatMapTuple(fewest_candidates, self.settings.min_shared_bands)
            | "Count" >> count_as(DEDUPE, CANDIDATE_PAIRS)
        )


def _with_first(joined) -> Iterator[tuple[str, tuple]]:
    first_id, grouped = joined
    for value in grouped["value"]:
        for second_id, carried in grouped["pair"]:
            yield second_id, (first_id, carried, value)


def _with_second(joined) -> Iterator[tuple]:
    second_id, grouped = joined
    for value in grouped["value"]:
        for first_id, carried, first_value in grouped["pair"]:
            yield first_id, second_id, carried, first_value, value


class JoinBothEnds(beam.PTransform):
    """{"pairs": (first id, (second id, carried)), "values": (id, value)} -> (first id, second id, carried,
    first's value, second's value) for every pair whose two ends have a value: two joins, by each end."""

    def expand(self, inputs):
        values = inputs["values"]
        first = (
            {"pair": inputs["pairs"], "value": values} | "ByFirst" >> beam.CoGroupByKey() | "First" >> beam.FlatMap(_with_first)
        )
        return {"pair": first, "value": values} | "BySecond" >> beam.CoGroupByKey() | "Second" >> beam.FlatMap(_with_second)


def _to_second(found) -> tuple[str, tuple[str, float, bytes]]:
    (second_id, score), (_, first) = found
    return second_id, (first.article_id, score, first.sketch.outline)


def _copy_edges(found, settings: DedupeSettings) -> Iterator[tuple[str, str, float]]:
    (first_id, score, first_outline), (_, second) = found
    return copy_edges((first_id, second.article_id, score, first_outline, second.sketch.outline), settings)


class VerifiedEdges(beam.PTransform):
    """{"pairs": (first id, second id), "fingerprints": ..., "where": (id, parcel path)} -> (first, second,
    coverage) edges of the pairs that are copies of one story. Every pair is joined to both signatures (480
    bytes each); only the few that the signatures let through get both outlines (2 bytes a word), read from
    the parked fingerprints (``LookUpParked``), to tell a copy from two stories sharing text: no grouping
    holds the run's outlines, nor a pair's copies of whole sketches."""

    def __init__(self, settings: DedupeSettings):
        super().__init__()
        self.settings = settings

    def expand(self, inputs):
        settings, where = self.settings, inputs["where"]
        signatures = inputs["fingerprints"] | "Signatures" >> beam.Map(lambda f: (f.article_id, f.sketch))
        pairs = inputs["pairs"] | "Carry" >> beam.MapTuple(lambda first, second: (first, (second, None)))
        similar = (
            {"pairs": pairs, "values": signatures}
            | "JoinSignatures" >> JoinBothEnds()
            | "Similar" >> beam.FlatMap(similar_pairs, settings)
        )
        with_first = (
            {"wanted": similar, "where": where} | "FirstOutlines" >> LookUpParked(parked_id) | "ToSecond" >> beam.Map(_to_second)
        )
        return (
            {"wanted": with_first, "where": where}
            | "SecondOutlines" >> LookUpParked(parked_id)
            | "Copies" >> beam.FlatMap(_copy_edges, settings)
            | "Count" >> count_as(DEDUPE, VERIFIED_PAIRS)
        )


class Components(beam.PTransform):
    """Edges -> (article id, root id) for every article in a cluster of two or more."""

    def expand(self, edges):
        return (
            edges
            | "UnionFind" >> beam.CombineGlobally(ConnectedComponents()).without_defaults()
            | "Membership" >> beam.FlatMap(lambda roots: roots.items())
        )


class Decisions(beam.PTransform):
    """{"fingerprints": ..., "roots": (id, root)} -> (article id, Decision) for every clustered article."""

    def expand(self, inputs):
        fingerprints = inputs["fingerprints"] | "ById" >> beam.Map(lambda f: (f.article_id, f))
        return (
            {"fingerprint": fingerprints, "root": inputs["roots"]}
            | "JoinRoots" >> beam.CoGroupByKey()
            | "ByCluster" >> beam.FlatMap(lambda kv: ((root, fp) for root in kv[1]["root"] for fp in kv[1]["fingerprint"]))
            | "Clusters" >> beam.GroupByKey()
            | "Canonical" >> beam.FlatMap(lambda cluster: ((d.article_id, d) for d in cluster_decisions(cluster[1])))
        )


class NearDuplicateClusters(beam.PTransform):
    """{"fingerprints": ..., "where": (id, parcel path) of the parked (article, fingerprint)} -> (article_id,
    Decision) for every article that has at least one duplicate."""

    def __init__(self, settings: DedupeSettings = DedupeSettings()):
        super().__init__()
        self.settings = settings

    def expand(self, inputs):
        fingerprints = inputs["fingerprints"]
        exact_edges, representatives = fingerprints | "Exact" >> ExactEdges()
        pairs = representatives | "Candidates" >> CandidatePairs(self.settings)
        verify = {"pairs": pairs, "fingerprints": representatives, "where": inputs["where"]}
        near_edges = verify | "Verify" >> VerifiedEdges(self.settings)
        roots = (exact_edges, near_edges) | "Edges" >> beam.Flatten() | "Components" >> Components()
        return {"fingerprints": fingerprints, "roots": roots} | "Decide" >> Decisions()


def _decision_to_parcel(joined) -> list[tuple[str, tuple[str, Decision]]]:
    article_id, grouped = joined
    return [(path, (article_id, d)) for d in grouped["decision"] for path in grouped["parcel"]]


def _apply_decisions(
    parked: Iterable[tuple[Article, Fingerprint]], facts: list[tuple[str, Decision | Earlier]], ingested_at: Optional[dt.datetime]
) -> Iterator[Article | Duplicate | IndexedSketch]:
    """Each parked article under its cluster's decision, then as a copy of an earlier run's article where
    its cluster copies one; with ``ingested_at`` (a run with an index), its index entry after it."""
    decisions = {article_id: fact for article_id, fact in facts if isinstance(fact, Decision)}
    earlier = {article_id: fact for article_id, fact in facts if not isinstance(fact, Decision)}
    for article, fp in parked:
        record = copy_of_earlier(apply_decision(article, decisions.get(article.article_id)), earlier.get(article.article_id))
        yield record
        if ingested_at is not None:
            yield indexed_sketch(fp, record.cluster_id, ingested_at)


Deduplicated = collections.namedtuple("Deduplicated", ["articles", "duplicates", "index_files"])


class DeduplicateArticles(beam.PTransform):
    """Articles -> one article per cluster; outputs ``.articles``, ``.duplicates`` and ``.index_files``.
    With an index (``IndexPlace``), a cluster that copies an article of an earlier run becomes duplicates
    of it, and this run's articles are added to the index. The articles wait for their decisions parked
    with their fingerprints in parcels under ``parcels`` (``transforms.parcels``), so the runner's
    groupings hold fingerprints without their outlines, and paths, not articles (the few pairs worth
    comparing read their outlines from the parcels), and the index entries are made as they are read
    back, when their clusters are known."""

    def __init__(self, settings: DedupeSettings, parcels: str, index: Optional[IndexPlace] = None):
        super().__init__()
        self.settings, self.parcels, self.index = settings, parcels, index

    def expand(self, articles):
        settings, index = self.settings, self.index
        hashed = articles | "CountIn" >> count_in(DEDUPE) | "ContentHash" >> beam.Map(with_content_hash)
        parcels = (
            hashed
            | "Fingerprint" >> beam.Map(lambda article: (article, fingerprint(article, settings)))
            | "Park" >> beam.ParDo(Park(self.parcels, lambda parked: signature_only(parked[1])))
        )
        parked = {
            "fingerprints": parcels | "Fingerprints" >> beam.FlatMap(lambda parcel: parcel[1]),
            "where": parcels | "Where" >> beam.FlatMap(parcel_keys, lambda f: (f.article_id,)),
        }
        decisions = parked | "Cluster" >> NearDuplicateClusters(settings)
        per_article = {"decision": decisions, "parcel": parked["where"]}
        if index and index.look_up:
            per_article["earlier"] = parked | "LookUpEarlier" >> LookUpEarlier(index, settings)
        joined = per_article | "JoinDecisions" >> beam.CoGroupByKey()
        facts = joined | "ToParcels" >> beam.FlatMap(_decision_to_parcel)
        if index and index.look_up:
            facts = (facts, joined | "AcrossRuns" >> EarlierClusters()) | "AllFacts" >> beam.Flatten()
        apply = functools.partial(_apply_decisions, ingested_at=index.ingested_at if index else None)
        records = {"parcels": parcels, "facts": facts} | "Apply" >> Unpark(self.parcels, apply)
        split = records | "ByType" >> SplitByType(DEDUPE, articles=Article, duplicates=Duplicate, index_entries=IndexedSketch)
        if index is None:
            return Deduplicated(split.articles, split.duplicates, articles.pipeline | "NoIndex" >> beam.Create([]))
        index_files = split.index_entries | "AddToIndex" >> AddToIndex(index, settings, f"{self.parcels}-index")
        return Deduplicated(split.articles, split.duplicates, index_files)
