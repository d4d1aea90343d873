"""Dedupe across time, for a stream.

A stream has no end at which to cluster, so each article is judged on arrival against what was seen in
the last ``horizon`` seconds of event time: a stateful DoFn keyed by LSH bucket remembers fingerprints,
and an article is a duplicate of a remembered one that *precedes* it in (event time, id) order. Only
predecessors count, so the verdict never depends on the order in which keys see elements: "is a
duplicate of" always points backwards in one total order, no cycle can form, and the first copy of a
story is never dropped. A copy arriving before its original (in event time) is kept: what was written
cannot be unwritten.
"""

from __future__ import annotations

import dataclasses
import time
import typing
from collections.abc import Iterable, Iterator
from typing import Optional

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms import userstate
from apache_beam.utils.timestamp import Timestamp

from transforms.dedupe.clusters import Decision, apply_decision
from transforms.dedupe.fingerprints import DedupeSettings, bucket, bucketed_band_keys, minhash, similarity, with_content_hash
from transforms.schema import DEDUPE, Article, Duplicate
from transforms.stage import SplitByType, count_in


@dataclasses.dataclass(frozen=True)
class Remembered:
    article_id: str
    at: float  # event time, epoch seconds
    signature: bytes

    def precedes(self, other: Remembered) -> bool:
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
    return apply_decision(
        article, Decision(article.article_id, best.canonical_article_id, best.canonical_article_id, best.similarity, 0)
    )


class _BucketMemory(beam.DoFn):
    MEMORY = userstate.ReadModifyWriteStateSpec("memory", PickleCoder())
    EXPIRY = userstate.TimerSpec("expiry", userstate.TimeDomain.WATERMARK)

    def __init__(self, settings: DedupeSettings, horizon: float):
        self.settings, self.horizon = settings, horizon

    def process(self, keyed, memory_state=beam.DoFn.StateParam(MEMORY), expiry=beam.DoFn.TimerParam(EXPIRY)) -> Iterator:
        _, (band_key, newcomer, keys, article) = keyed
        memory = memory_state.read() or {}
        match = match_and_remember(memory, band_key, newcomer, self.settings, self.horizon)
        memory_state.write(memory)
        expiry.set(Timestamp(max(m.at for members in memory.values() for m in members) + self.horizon))
        if article is not None:  # the article rides with its exact-text key, to be judged with its matches
            yield newcomer.article_id, ("article", article, keys)
        yield newcomer.article_id, ("match", match, keys)

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
    """Gathers an article and the matches of all its keys (keyed by article id), then judges it. Every item
    carries how many keys its article has, so the count of matches to wait for travels with the data."""

    GATHERED = userstate.BagStateSpec("gathered", PickleCoder())

    def process(self, keyed, gathered_state=beam.DoFn.StateParam(GATHERED)) -> Iterator[Article | Duplicate]:
        _, item = keyed
        gathered_state.add(item)
        gathered = list(gathered_state.read())
        if len(gathered) < item[2] + 1:  # the article, and one match per key
            return
        gathered_state.clear()
        article = next(value for kind, value, _ in gathered if kind == "article")
        yield judge(article, (value for kind, value, _ in gathered if kind == "match"))


def _memory_items(article: Article, settings: DedupeSettings, at=beam.DoFn.TimestampParam) -> Iterator[tuple[str, tuple]]:
    remembered = Remembered(article.article_id, float(at), minhash(article.text, settings))
    keys = memory_keys(article.content_hash, remembered.signature, settings)
    for i, (state_key, band_key) in enumerate(keys):
        yield state_key, (band_key, remembered, len(keys), article if i == 0 else None)


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
            | "CountIn" >> count_in(DEDUPE)
            | "ContentHash" >> beam.Map(with_content_hash)
            | "MemoryKeys" >> beam.FlatMap(_memory_items, settings).with_output_types(tuple[str, typing.Any])
            | "Memory" >> beam.ParDo(_BucketMemory(settings, self.horizon)).with_output_types(tuple[str, typing.Any])
            | "Judge" >> beam.ParDo(_Verdict())
            | "ByType" >> SplitByType(DEDUPE, articles=Article, duplicates=Duplicate)
        )
