"""Clusters from candidate pairs: plain functions the batch transforms apply per group, and the verdict
each member of a cluster gets."""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import Optional

import apache_beam as beam

from transforms.dedupe.fingerprints import DedupeSettings, Fingerprint, canonical_order, overlap, similarity, two_stories
from transforms.schema import Article, Duplicate


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict for one member of a cluster."""

    article_id: str
    cluster_id: str
    canonical_article_id: str
    similarity: float
    duplicate_count: int  # on the canonical article: how many copies were dropped


def exact_duplicate_edges(members: Iterable[Fingerprint]) -> Iterator[tuple[str, str, float]]:
    ordered = sorted(members, key=lambda m: m.article_id)
    for other in ordered[1:]:
        yield ordered[0].article_id, other.article_id, 1.0


MAX_ANCHORS = 8  # candidates per member of a band key, and per article in all


def candidate_pairs(article_ids: Iterable[str]) -> Iterator[tuple[str, str]]:
    """The pairs of one LSH band key's members, smaller id first: a star around its first members.

    A wire story copied by thousands of outlets, or a feed of templated teasers, fills one band key in
    almost every band: all pairs would cost n²/2. So the first ``MAX_ANCHORS`` members are paired with
    each other and every other member with them only; union-find joins the component through the
    anchors. A key of up to ``MAX_ANCHORS`` + 1 members (every key of the dev corpora) is paired whole."""
    ordered = sorted(set(article_ids))
    anchors = ordered[:MAX_ANCHORS]
    yield from itertools.combinations(anchors, 2)
    yield from itertools.product(anchors, ordered[MAX_ANCHORS:])


def swapped(pair: tuple[str, str]) -> tuple[str, str]:
    """(first, second) -> (second, first): candidates keyed by the article that ``fewest_candidates`` caps."""
    return pair[1], pair[0]


def fewest_candidates(
    second_id: str, first_ids: Iterable[str], min_shared: int = DedupeSettings.min_shared_bands
) -> Iterator[tuple[str, str]]:
    """One article's candidates (smaller ids, one per band key they share with it): of those that share
    ``min_shared`` keys or more, the ``MAX_ANCHORS`` that share the most, the smaller id first among
    equals. In a flood each band key has its own first members, so the stars of 24 bands still gave each
    teaser 33 candidates (64 anchors a key: 173, 3.9 GB and 15 minutes for 5,000, issue 22); capped, an
    article is verified at most ``MAX_ANCHORS`` times whatever the corpus. A copy shares most keys, an
    unrelated story one key through a stock phrase, more of them as a corpus grows: ranked by id alone,
    the phrases' smaller ids pushed copies out of the cap, and counted as candidates they grew with N
    (``docs/dedupe.md``, "Two shared keys"). In a flood every member shares every key, so the smallest
    ids, the flood's common anchors, still keep it one component."""
    shared = collections.Counter(first_ids)
    enough = (item for item in shared.items() if item[1] >= min_shared)
    for first_id, _ in sorted(enough, key=lambda item: (-item[1], item[0]))[:MAX_ANCHORS]:
        yield first_id, second_id


def bucket_pairs(keyed_ids: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """The candidate pairs of one bucket's (band key, article id) members: pairs that share a band key."""
    by_band_key: dict[str, list[str]] = collections.defaultdict(list)
    for band_key, article_id in keyed_ids:
        by_band_key[band_key].append(article_id)
    for article_ids in by_band_key.values():
        yield from candidate_pairs(article_ids)


def similar_pairs(joined: tuple, settings: DedupeSettings) -> Iterator[tuple[str, tuple[str, float]]]:
    """A candidate pair with both signatures (``JoinBothEnds``) -> (first id, (second id, score)) when the
    signatures say it could be a copy."""
    first_id, second_id, _, first, second = joined
    score = similarity(first, second, settings)
    if score is not None:
        yield first_id, (second_id, score)


def copy_edges(joined: tuple, settings: DedupeSettings) -> Iterator[tuple[str, str, float]]:
    """A similar pair with both outlines -> the (first id, second id, score) edge unless the two texts are two
    stories that share text."""
    first_id, second_id, score, first, second = joined
    if not two_stories(first, second, settings):
        yield first_id, second_id, score


class ConnectedComponents(beam.CombineFn):
    """Union-find over edges; outputs {article_id: smallest article_id of its component}."""

    def create_accumulator(self) -> dict[str, str]:
        return {}

    @staticmethod
    def _root(parent: dict[str, str], node: str) -> str:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def _union(self, parent: dict[str, str], a: str, b: str) -> dict[str, str]:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = self._root(parent, a), self._root(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        return parent

    def add_input(self, parent, edge):
        return self._union(parent, edge[0], edge[1])

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for other in accumulators:
            for node, parent in other.items():
                self._union(merged, node, parent)
        return merged

    def extract_output(self, parent):
        return {node: self._root(parent, node) for node in parent}


def cluster_decisions(members: Iterable[Fingerprint]) -> list[Decision]:
    """Each member's verdict: the canonical article stays; every other member is a duplicate of it, scored
    by its estimated coverage of it (low when joined to it only through other members)."""
    ordered = sorted(members, key=canonical_order)
    canonical = ordered[0]
    decisions = [Decision(canonical.article_id, canonical.article_id, canonical.article_id, 1.0, len(ordered) - 1)]
    for member in ordered[1:]:
        exact = member.content_hash == canonical.content_hash
        score = 1.0 if exact else round(overlap(member.sketch, canonical.sketch).coverage, 4)
        decisions.append(Decision(member.article_id, canonical.article_id, canonical.article_id, score, 0))
    return decisions


def apply_decision(article: Article, decision: Optional[Decision]) -> Article | Duplicate:
    if decision is None:  # in no cluster: its own cluster of one
        return dataclasses.replace(article, cluster_id=article.article_id, duplicate_count=0)
    if decision.canonical_article_id == article.article_id:
        return dataclasses.replace(article, cluster_id=decision.cluster_id, duplicate_count=decision.duplicate_count)
    return Duplicate(
        article.article_id,
        article.source_path,
        article.url,
        article.source,
        decision.cluster_id,
        decision.canonical_article_id,
        decision.similarity,
        article.feed_url,
        article.entry_id,
        article.published_at,
    )
