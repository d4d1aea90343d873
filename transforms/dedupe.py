"""Dedupe: exact duplicates by a normalised-text hash, near duplicates by MinHash LSH, one article kept
per cluster.

The Beam shape scales out with the corpus. No worker holds an index of all documents:

1. Every article gets a small ``Fingerprint`` (content hash and MinHash signature).
2. Fingerprints are grouped by content hash: each group's members are exact duplicates of its first.
3. One representative per hash is split into LSH band keys that carry only its id; grouping them by
   bucket (a band and a key prefix) yields candidate pairs of ids, which two small joins give their
   signatures, so each is verified by its estimated Jaccard similarity before it becomes an edge.
   (Carrying whole signatures under all 24 band keys made this the pipeline's largest shuffle: ~116 KB
   per document at 10k documents.)
4. Connected components of the edges are the clusters. A union-find ``CombineFn`` builds them:
   workers union their share of the edges in parallel and the partial forests merge, so memory grows
   with the number of duplicated documents, never with the corpus.
5. Each cluster keeps its canonical article by ``canonical_order``; the others become ``Duplicate`` rows.

Defaults (``DedupeSettings``): 5-word shingles, 120 permutations as 24 bands x 5 rows (the LSH curve's
midpoint is (1/24)^(1/5) = 0.53, so a pair at the 0.7 threshold is a candidate with probability 0.988,
at 0.8 with 0.9999; 20 x 6 missed 1 in 20 pairs at 0.73 on a synthetic corpus), and a verified
Jaccard threshold of 0.7: candidates below it, more frequent with the lower midpoint, are dropped. On the seeds the two copies of the wire
story score 0.93 and every other pair below 0.01.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import itertools
import re
import unicodedata
import time
import typing
from typing import Iterable, Iterator, Optional

import apache_beam as beam
import numpy as np
from apache_beam.coders import PickleCoder
from apache_beam.transforms import userstate
from apache_beam.utils.timestamp import Timestamp

from transforms.schema import Article, Duplicate
from transforms.stage import CoGroupByKeyPacked, GroupByKeyPacked, SplitByType


@dataclasses.dataclass(frozen=True)
class DedupeSettings:
    shingle_size: int = 5
    bands: int = 24
    rows: int = 5
    threshold: float = 0.7
    seed: int = 1

    @property
    def permutations(self) -> int:
        return self.bands * self.rows


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """What dedupe needs of an article: small, so that every shuffle stays cheap."""

    article_id: str
    content_hash: str
    published_at: Optional[dt.datetime]
    word_count: int
    signature: bytes  # the MinHash values as packed little-endian uint32: 480 bytes, not 120 Python ints


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict for one member of a cluster."""

    article_id: str
    cluster_id: str
    canonical_article_id: str
    similarity: float
    duplicate_count: int  # on the canonical article: how many copies were dropped


# ---------------------------------------------------------------------------------- plain functions

_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")  # U.S. -> US, so that "U.S." and "US" shingle alike


def normalise_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    return re.findall(r"\w+", text.lower())


def content_hash(text: str) -> str:
    """Equal for texts that differ only in case, punctuation, spacing or Unicode form."""
    return hashlib.sha256(" ".join(normalise_words(text)).encode("utf-8")).hexdigest()


def with_content_hash(article: Article) -> Article:
    return dataclasses.replace(article, content_hash=content_hash(article.text))


def shingles(words: list[str], size: int) -> list[str]:
    if len(words) <= size:
        return [" ".join(words)]
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def minhash(text: str, settings: DedupeSettings) -> bytes:
    from rensa import RMinHash

    sketch = RMinHash(num_perm=settings.permutations, seed=settings.seed)
    sketch.update(shingles(normalise_words(text), settings.shingle_size))
    return np.asarray(sketch.digest(), dtype="<u4").tobytes()


def fingerprint(article: Article, settings: DedupeSettings) -> Fingerprint:
    return Fingerprint(
        article.article_id,
        article.content_hash,
        article.published_at,
        article.word_count,
        minhash(article.text, settings),
    )


def band_keys(signature: bytes, settings: DedupeSettings) -> list[str]:
    width = settings.rows * 4
    return [
        f"{band}:{hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(settings.bands)
    ]


BUCKET_HEX = 2  # each band's keys are spread over 16^2 buckets


def bucket(band_key: str) -> str:
    """The shuffle key of a band key: its band and first ``BUCKET_HEX`` hex digits. Almost every band
    key is unique, and a grouping table holding millions of one-element keys costs several times the
    data (at 100k documents, 2.4M keys); 24 x 256 buckets of a few hundred keys each do not."""
    return band_key[: band_key.index(":") + 1 + BUCKET_HEX]


def bucketed_band_keys(signature: bytes, settings: DedupeSettings) -> list[tuple[str, str]]:
    """(bucket, band key) for each LSH band: how batch and streaming dedupe both key their buckets."""
    return [(bucket(key), key) for key in band_keys(signature, settings)]


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two shingle sets: the share of equal MinHash values."""
    if not a:
        return 0.0
    return float(np.mean(np.frombuffer(a, dtype="<u4") == np.frombuffer(b, dtype="<u4")))


def canonical_order(member: Fingerprint) -> tuple:
    """Which copy a cluster keeps: the earliest published (undated last), then the longest, then the
    smallest id, so the choice is the same on every run and every runner."""
    undated = member.published_at is None
    return (undated, member.published_at if not undated else None, -member.word_count, member.article_id)


def exact_duplicate_edges(members: Iterable[Fingerprint]) -> Iterator[tuple[str, str, float]]:
    ordered = sorted(members, key=lambda m: m.article_id)
    for other in ordered[1:]:
        yield ordered[0].article_id, other.article_id, 1.0


MAX_ANCHORS = 64


def candidate_pairs(article_ids: Iterable[str]) -> Iterator[tuple[str, str]]:
    """The pairs of one LSH bucket, smaller id first.

    A wire story copied by thousands of outlets fills one bucket: all pairs would cost n²/2, so each
    member is paired with the first ``MAX_ANCHORS`` members only; the connected components join the
    rest through them, and the cost stays linear in n."""
    ordered = sorted(set(article_ids))
    anchors = ordered[:MAX_ANCHORS]
    yield from itertools.combinations(anchors, 2)
    yield from itertools.product(anchors, ordered[MAX_ANCHORS:])


def bucket_pairs(keyed_ids: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """The candidate pairs of one bucket's (band key, article id) members: pairs that share a band key."""
    by_band_key: dict[str, list[str]] = collections.defaultdict(list)
    for band_key, article_id in keyed_ids:
        by_band_key[band_key].append(article_id)
    for article_ids in by_band_key.values():
        yield from candidate_pairs(article_ids)


def verified_edges(second_id: str, joined: dict, threshold: float) -> Iterator[tuple[str, str, float]]:
    """Candidate pairs (first id and signature, keyed by the second id) kept when their estimated
    similarity reaches the threshold."""
    for signature in joined["signature"]:
        for first_id, first_signature in joined["first"]:
            score = similarity(first_signature, signature)
            if score >= threshold:
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
    ordered = sorted(members, key=canonical_order)
    canonical = ordered[0]
    decisions = [Decision(canonical.article_id, canonical.article_id, canonical.article_id, 1.0, len(ordered) - 1)]
    for member in ordered[1:]:
        score = 1.0 if member.content_hash == canonical.content_hash else similarity(member.signature, canonical.signature)
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
    )


# ----------------------------------------------------------------------------------- Beam transforms


class NearDuplicateClusters(beam.PTransform):
    """Fingerprints -> (article_id, Decision) for every article that has at least one duplicate."""

    def __init__(self, settings: DedupeSettings = DedupeSettings()):
        super().__init__()
        self.settings = settings

    def expand(self, fingerprints):
        settings = self.settings
        by_hash = fingerprints | "ByContentHash" >> beam.Map(lambda f: (f.content_hash, f)) | "ExactGroups" >> GroupByKeyPacked()
        exact_edges = by_hash | "ExactEdges" >> beam.FlatMap(lambda group: exact_duplicate_edges(group[1]))
        representatives = by_hash | "Representatives" >> beam.Map(lambda group: min(group[1], key=lambda m: m.article_id))
        signatures = representatives | "Signatures" >> beam.Map(lambda f: (f.article_id, f.signature))
        candidates = (
            representatives
            | "BandKeys" >> beam.FlatMap(
                lambda f: ((b, (key, f.article_id)) for b, key in bucketed_band_keys(f.signature, settings))
            )
            | "CandidateGroups" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(lambda group: bucket_pairs(group[1]))
            | "DistinctPairs" >> beam.Distinct()
        )
        with_first = (
            {"second": candidates | "ByFirst" >> beam.Map(lambda pair: pair), "signature": signatures}
            | "FirstSignature" >> beam.CoGroupByKey()
            | "BySecond" >> beam.FlatMap(
                lambda kv: ((second, (kv[0], signature)) for signature in kv[1]["signature"] for second in kv[1]["second"])
            )
        )
        near_edges = (
            {"first": with_first, "signature": signatures}
            | "SecondSignature" >> beam.CoGroupByKey()
            | "VerifiedEdges" >> beam.FlatMap(lambda kv: verified_edges(kv[0], kv[1], settings.threshold))
        )
        components = (
            (exact_edges, near_edges)
            | "Edges" >> beam.Flatten()
            | "Components" >> beam.CombineGlobally(ConnectedComponents()).without_defaults()
            | "Membership" >> beam.FlatMap(lambda roots: roots.items())
        )
        return (
            {"fingerprint": fingerprints | "ById" >> beam.Map(lambda f: (f.article_id, f)), "root": components}
            | "JoinRoots" >> CoGroupByKeyPacked()
            | "ByCluster" >> beam.FlatMap(lambda kv: ((root, fp) for root in kv[1]["root"] for fp in kv[1]["fingerprint"]))
            | "Clusters" >> GroupByKeyPacked()
            | "Canonical" >> beam.FlatMap(lambda cluster: ((d.article_id, d) for d in cluster_decisions(cluster[1])))
        )


def _apply_decisions(joined) -> Iterator[Article | Duplicate]:
    _, grouped = joined
    decisions = list(grouped["decision"])
    for article in grouped["article"]:
        yield apply_decision(article, decisions[0] if decisions else None)


class DeduplicateArticles(beam.PTransform):
    """Articles -> one article per cluster; outputs ``.articles`` and ``.duplicates``."""

    def __init__(self, settings: DedupeSettings = DedupeSettings()):
        super().__init__()
        self.settings = settings

    def expand(self, articles):
        settings = self.settings
        hashed = articles | "ContentHash" >> beam.Map(with_content_hash)
        decisions = hashed | "Fingerprint" >> beam.Map(fingerprint, settings) | "Cluster" >> NearDuplicateClusters(settings)
        return (
            {"article": hashed | "KeyById" >> beam.Map(lambda a: (a.article_id, a)), "decision": decisions}
            | "JoinDecisions" >> CoGroupByKeyPacked()
            | "Apply" >> beam.FlatMap(_apply_decisions)
            | "ByType" >> SplitByType(articles=Article, duplicates=Duplicate)
        )


# ------------------------------------------------------------------------------- across time (streaming)
#
# A stream has no end at which to cluster, so each article is judged on arrival against what was seen in
# the last ``horizon`` seconds of event time: a stateful DoFn keyed by LSH bucket remembers fingerprints,
# and an article is a duplicate of a remembered one that *precedes* it in (event time, id) order. Only
# predecessors count, so the verdict never depends on the order in which keys see elements: "is a
# duplicate of" always points backwards in one total order, no cycle can form, and the first copy of a
# story is never dropped. A copy arriving before its original (in event time) is kept: what was written
# cannot be unwritten.


@dataclasses.dataclass(frozen=True)
class Remembered:
    article_id: str
    at: float  # event time, epoch seconds
    signature: bytes

    def precedes(self, other: "Remembered") -> bool:
        return (self.at, self.article_id) < (other.at, other.article_id)


@dataclasses.dataclass(frozen=True)
class Match:
    canonical_article_id: str
    at: float
    similarity: float


def memory_keys(content_hash_: str, signature: bytes, settings: DedupeSettings) -> list[tuple[str, str]]:
    """(state key, band key) pairs: the exact-text key and one per LSH band. Many band keys share a state
    key, so every state key is visited often and pruned on visit, even on runners whose timers misfire."""
    exact = f"hash:{content_hash_}"
    return [(bucket(exact), exact), *bucketed_band_keys(signature, settings)]


def match_and_remember(
    memory: dict[str, list[Remembered]], band_key: str, newcomer: Remembered, settings: DedupeSettings, horizon: float
) -> Optional[Match]:
    """The earliest remembered predecessor of ``newcomer`` under ``band_key`` that it duplicates; the
    newcomer is remembered, and what is older than the horizon (before it) forgotten."""
    forget_expired(memory, newcomer.at - horizon)
    exact = band_key.startswith("hash:")
    matches = []
    for seen in memory.get(band_key, []):
        if seen.article_id == newcomer.article_id or not seen.precedes(newcomer):
            continue
        score = 1.0 if exact else similarity(seen.signature, newcomer.signature)
        if score >= settings.threshold:
            matches.append(Match(seen.article_id, seen.at, score))
    if all(m.article_id != newcomer.article_id for m in memory.get(band_key, [])):
        memory.setdefault(band_key, []).append(newcomer)
    return min(matches, key=lambda m: (m.at, m.canonical_article_id), default=None)


def forget_expired(memory: dict[str, list[Remembered]], before: float) -> None:
    """Drop, in place, what was seen before ``before`` (event time)."""
    for key in list(memory):
        memory[key] = [m for m in memory[key] if m.at >= before]
        if not memory[key]:
            del memory[key]


def judge(article: Article, matches: Iterable[Optional[Match]]) -> Article | Duplicate:
    """An article's verdict from its keys' matches: a duplicate of the earliest match, if any."""
    best = min((m for m in matches if m), key=lambda m: (m.at, m.canonical_article_id), default=None)
    if best is None:
        return apply_decision(article, None)
    return apply_decision(article, Decision(article.article_id, best.canonical_article_id, best.canonical_article_id, best.similarity, 0))


class _BucketMemory(beam.DoFn):
    MEMORY = userstate.ReadModifyWriteStateSpec("memory", PickleCoder())
    EXPIRY = userstate.TimerSpec("expiry", userstate.TimeDomain.WATERMARK)

    def __init__(self, settings: DedupeSettings, horizon: float):
        self.settings, self.horizon = settings, horizon

    def process(self, keyed, memory_state=beam.DoFn.StateParam(MEMORY), expiry=beam.DoFn.TimerParam(EXPIRY)) -> Iterator:
        _, (band_key, newcomer, article) = keyed
        memory = memory_state.read() or {}
        match = match_and_remember(memory, band_key, newcomer, self.settings, self.horizon)
        memory_state.write(memory)
        expiry.set(Timestamp(max(m.at for members in memory.values() for m in members) + self.horizon))
        if article is not None:  # the article rides with its exact-text key, to be judged with its matches
            yield newcomer.article_id, ("article", article)
        yield newcomer.article_id, ("match", match)

    @userstate.on_timer(EXPIRY)
    def expire(self, fired=beam.DoFn.TimestampParam, memory_state=beam.DoFn.StateParam(MEMORY)):
        # The source's watermark never passes the wall clock, so a timer that fires before its time is the
        # runner's doing (the FnApiRunner fires event-time timers at once: tests/test_beam_defects.py);
        # then the memory is pruned on the key's next visit instead.
        if float(fired) > time.time():
            return
        memory = memory_state.read() or {}
        forget_expired(memory, float(fired) - self.horizon)
        if memory:
            memory_state.write(memory)
        else:
            memory_state.clear()


class _Verdict(beam.DoFn):
    """Gathers an article and the matches of all its keys (keyed by article id), then judges it."""

    GATHERED = userstate.BagStateSpec("gathered", PickleCoder())

    def __init__(self, expected_matches: int):
        self.expected = expected_matches

    def process(self, keyed, gathered_state=beam.DoFn.StateParam(GATHERED)) -> Iterator[Article | Duplicate]:
        _, item = keyed
        gathered_state.add(item)
        gathered = list(gathered_state.read())
        if len(gathered) < self.expected + 1:
            return
        gathered_state.clear()
        article = next(value for kind, value in gathered if kind == "article")
        yield judge(article, (value for kind, value in gathered if kind == "match"))


def _memory_items(article: Article, settings: DedupeSettings, at=beam.DoFn.TimestampParam) -> Iterator[tuple[str, tuple]]:
    remembered = Remembered(article.article_id, float(at), minhash(article.text, settings))
    for i, (state_key, band_key) in enumerate(memory_keys(article.content_hash, remembered.signature, settings)):
        yield state_key, (band_key, remembered, article if i == 0 else None)


class DeduplicateAcrossTime(beam.PTransform):
    """Articles of a stream -> articles, and duplicates of an article seen in the last ``horizon`` seconds
    of event time; outputs ``.articles`` and ``.duplicates``. One chain of keyed steps, with no window,
    GroupByKey or Flatten to wait on, so verdicts come as elements arrive on every runner."""

    def __init__(self, settings: DedupeSettings, horizon: float):
        super().__init__()
        self.settings, self.horizon = settings, horizon

    def expand(self, articles):
        settings = self.settings
        return (
            articles
            | "ContentHash" >> beam.Map(with_content_hash)
            | "MemoryKeys" >> beam.FlatMap(_memory_items, settings).with_output_types(tuple[str, typing.Any])
            | "Memory" >> beam.ParDo(_BucketMemory(settings, self.horizon)).with_output_types(tuple[str, typing.Any])
            | "Judge" >> beam.ParDo(_Verdict(settings.bands + 1))
            | "ByType" >> SplitByType(articles=Article, duplicates=Duplicate)
        )
