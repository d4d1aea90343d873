"""Dedupe across time, for a stream.

A stream has no end at which to cluster, so each article is judged on arrival against what was seen in
the last ``horizon`` seconds of event time: a stateful DoFn keyed by LSH bucket remembers fingerprints,
and an article is a duplicate of a remembered one that *precedes* it in (event time, id) order. Only
predecessors count, so the verdict never depends on the order in which keys see elements: "is a
duplicate of" always points backwards in one total order, no cycle can form, and the first copy of a
story is never dropped. A copy arriving before its original (in event time) is kept: what was written
cannot be unwritten. For the same reason, what earlier runs (or this job before a restart) wrote precedes
every newcomer: each state key's memory starts from the dedupe index (``index``), and the job adds to the
index as it writes.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import pickle
import time
import typing
from collections.abc import Iterable, Iterator
from typing import Optional

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms import userstate
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from transforms.dedupe.clusters import Decision, apply_decision
from transforms.dedupe.fingerprints import DedupeSettings, Sketch, band_keys, shared_bands, sketch, verify, with_content_hash
from transforms.dedupe.index import (
    index_rows,
    indexed,
    remembered_rows,
    run_partition,
    stored_sketch,
    tidy,
    write_index_file,
)
from transforms.schema import DEDUPE, Article, Duplicate, IndexedSketch
from transforms.stage import SplitByType, count_in


@dataclasses.dataclass(frozen=True)
class Remembered:
    article_id: str
    at: float  # event time, epoch seconds
    sketch: Sketch
    cluster_id: str = ""  # known for what the index holds: its cluster is what a copy of it joins

    def precedes(self, other: Remembered) -> bool:
        if self.cluster_id:  # written by an earlier run: it cannot become a copy of the newcomer
            return True
        return (self.at, self.article_id) < (other.at, other.article_id)


@dataclasses.dataclass(frozen=True)
class Match:
    canonical_article_id: str
    at: float
    similarity: float


STATE_HEX = {"hash": 4, "band": 3}  # hex digits of a state key: 65,536 exact-text keys, 4,096 per band


def state_key(key: str) -> str:
    """The state key of an exact-text or band key: its kind or band and its first hex digits. Fine enough
    that a state cell holds a few articles when 10,000 are inside the horizon (2 digits: 39 per band key's
    cell, each decoded and encoded on every visit, issue 24), coarse enough that every cell is visited,
    and pruned, often; its first two digits are the key's index partition (``index.band_partition``)."""
    kind, digits = key.split(":", 1)
    return f"{kind}:{digits[: STATE_HEX['hash' if kind == 'hash' else 'band']]}"


def memory_keys(content_hash_: str, signature: bytes, settings: DedupeSettings) -> list[tuple[str, str]]:
    """(state key, band key) pairs: the exact-text key and one per LSH band. Many band keys share a state
    key, so every state key is visited often and pruned on visit, even on runners whose timers misfire."""
    exact = f"hash:{content_hash_}"
    return [(state_key(exact), exact), *((state_key(key), key) for key in band_keys(signature, settings))]


NO_SKETCH = Sketch(b"", 0, b"")


class Memory:
    """A state key's memory: per band key, the articles remembered, each kept as (event time, its pickle).

    The state key (``state_key``) holds every band key with its digits, about 1/4,096 of the articles
    inside the horizon for each band, and the runner decodes and encodes the whole cell on every visit. So an
    article is pickled once, when remembered, and unpickled only when a newcomer visits its own band key:
    the rest of the cell is a list of (float, bytes) pairs, copied, not rebuilt (issue 24: a cell of
    ``Remembered`` objects cost every visit in proportion to the articles inside the horizon). The latest
    and oldest event times are kept as they change, for the timer and so that the cell is swept only when
    its oldest entry is more than an eighth of the horizon past it; until then a visit skips what expired."""

    SWEEP_SLACK = 1 / 8  # of the horizon: how long an expired entry may wait for the next sweep

    def __init__(self):
        self.entries: dict[str, list[tuple[float, bytes]]] = {}
        self.latest = self.oldest = None

    def __len__(self) -> int:
        return sum(len(members) for members in self.entries.values())

    def __getitem__(self, band_key: str) -> list[Remembered]:
        return self.under(band_key)

    def __setitem__(self, band_key: str, members: Iterable[Remembered]) -> None:
        self.entries.pop(band_key, None)
        for member in members:
            self.add(band_key, member)

    def under(self, band_key: str, since: float = -math.inf) -> list[Remembered]:
        """The articles remembered under ``band_key`` whose event time is ``since`` or later."""
        return [pickle.loads(packed) for at, packed in self.entries.get(band_key, ()) if at >= since]

    def add(self, band_key: str, member: Remembered) -> None:
        self.entries.setdefault(band_key, []).append((member.at, pickle.dumps(member, protocol=pickle.HIGHEST_PROTOCOL)))
        self.latest = member.at if self.latest is None else max(self.latest, member.at)
        self.oldest = member.at if self.oldest is None else min(self.oldest, member.at)

    def forget_before(self, before: float, slack: float = 0.0) -> None:
        """Drop what was seen before ``before`` (event time), once the oldest entry is ``slack`` past it."""
        if self.oldest is None or self.oldest >= before - slack:
            return
        kept = {key: [e for e in members if e[0] >= before] for key, members in self.entries.items()}
        self.entries = {key: members for key, members in kept.items() if members}
        times = [at for members in self.entries.values() for at, _ in members]
        self.latest, self.oldest = (max(times), min(times)) if times else (None, None)


def remembered_from_index(folder: Optional[str], state_key: str, run_id: str, since: float) -> Memory:
    """A state key's memory as earlier runs left it in the index (``index.remembered_rows``): what a
    restarted stream starts from. Exact-text keys load nothing: an exact copy shares every band key too."""
    memory = Memory()
    if not folder or state_key.startswith("hash:"):
        return memory
    for band_key, row in remembered_rows(folder, state_key, run_id):
        at = row.at.timestamp()
        if at >= since:
            memory.add(band_key, Remembered(row.article_id, at, stored_sketch(row), row.cluster_id))
    return memory


def match_and_remember(memory: Memory, band_key: str, newcomer: Remembered, settings: DedupeSettings) -> Optional[Match]:
    """The earliest remembered predecessor of ``newcomer`` under ``band_key`` that it duplicates; the
    newcomer is remembered, and what is older than the horizon (before it) forgotten."""
    since = newcomer.at - settings.horizon
    memory.forget_before(since, settings.horizon * Memory.SWEEP_SLACK)
    exact = band_key.startswith("hash:")
    matches = []
    seen_here = memory.under(band_key, since)
    for seen in seen_here:
        if newcomer.article_id in (seen.article_id, seen.cluster_id) or not seen.precedes(newcomer):
            continue  # itself, or a copy of itself: an original polled again after a restart stays one
        if not exact and shared_bands(seen.sketch.signature, newcomer.sketch.signature, settings) < settings.min_shared_bands:
            continue  # no candidate in a batch run either (``clusters.fewest_candidates``)
        score = 1.0 if exact else verify(seen.sketch, newcomer.sketch, settings)
        if score is not None:
            matches.append(Match(seen.cluster_id or seen.article_id, seen.at, score))
    if all(m.article_id != newcomer.article_id for m in seen_here):  # an exact-text key needs no sketch
        memory.add(band_key, dataclasses.replace(newcomer, sketch=NO_SKETCH) if exact else newcomer)
    return min(matches, key=lambda m: (m.at, m.canonical_article_id), default=None)


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

    def __init__(self, settings: DedupeSettings, index: Optional[tuple[str, str]] = None):
        self.settings, self.index = settings, index

    def process(self, keyed, memory_state=beam.DoFn.StateParam(MEMORY), expiry=beam.DoFn.TimerParam(EXPIRY)) -> Iterator:
        state_key, (band_key, newcomer, keys, article) = keyed
        memory = memory_state.read()
        if memory is None:  # the key's first visit in this job: start from what earlier runs left
            folder, run_id = self.index or (None, "")
            memory = remembered_from_index(folder, state_key, run_id, newcomer.at - self.settings.horizon)
        match = match_and_remember(memory, band_key, newcomer, self.settings)
        memory_state.write(memory)
        expiry.set(Timestamp(memory.latest + self.settings.horizon))
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
        memory = memory_state.read() or Memory()
        memory.forget_before(float(fired) - self.settings.horizon)
        memory_state.write(memory)  # empty, not cleared: the index is read on a key's first visit only


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
        article, remembered = next(value for kind, value, _ in gathered if kind == "article")
        verdict = judge(article, (value for kind, value, _ in gathered if kind == "match"))
        yield verdict
        at = dt.datetime.fromtimestamp(remembered.at, dt.UTC)
        yield indexed(article.article_id, verdict.cluster_id, at, remembered.sketch)


def _memory_items(article: Article, settings: DedupeSettings, at=beam.DoFn.TimestampParam) -> Iterator[tuple[str, tuple]]:
    remembered = Remembered(article.article_id, float(at), sketch(article.text, settings))
    keys = memory_keys(article.content_hash, remembered.sketch.signature, settings)
    for i, (state_key, band_key) in enumerate(keys):
        yield state_key, (band_key, remembered, len(keys), (article, remembered) if i == 0 else None)


class DeduplicateAcrossTime(beam.PTransform):
    """Articles of a stream -> articles, and duplicates of an article seen in the last ``settings.horizon``
    seconds of event time, in this job or (given ``index``: (index folder, run id)) by earlier runs;
    outputs ``.articles``, ``.duplicates`` and ``.index`` (what to add to the index). One chain of keyed
    steps, with no window, GroupByKey or Flatten to wait on, so verdicts come as elements arrive on every
    runner."""

    def __init__(self, settings: DedupeSettings, index: Optional[tuple[str, str]] = None):
        super().__init__()
        self.settings, self.index = settings, index

    def expand(self, articles):
        settings = self.settings
        memory = _BucketMemory(settings, self.index)
        return (
            articles
            | "CountIn" >> count_in(DEDUPE)
            | "ContentHash" >> beam.Map(with_content_hash)
            | "MemoryKeys" >> beam.FlatMap(_memory_items, settings).with_output_types(tuple[str, typing.Any])
            | "Memory" >> beam.ParDo(memory).with_output_types(tuple[str, typing.Any])
            | "Judge" >> beam.ParDo(_Verdict())
            | "ByType" >> SplitByType(DEDUPE, articles=Article, duplicates=Duplicate, index=IndexedSketch)
        )


class _WriteIndexBundle(beam.DoFn):
    """Each bundle's index entries -> one file per index table (``part=all``; partitioned for a bundle of
    more than ``index.SMALL_RUN`` articles), written as the bundle ends, then the index tidied
    (``index.tidy``), so a stream that writes a bundle a second leaves a bounded number of files."""

    def __init__(self, folder: str, run_id: str, settings: DedupeSettings):
        self.folder, self.run_id, self.settings = folder, run_id, settings

    def start_bundle(self):
        self.entries: list[IndexedSketch] = []
        self.latest = MIN_TIMESTAMP

    def process(self, entry: IndexedSketch, at=beam.DoFn.TimestampParam):
        self.entries.append(entry)
        self.latest = max(self.latest, at)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        rows: dict[tuple[str, str], list[tuple]] = collections.defaultdict(list)
        for entry in self.entries:
            for table, partition, row in index_rows(entry, self.settings):
                rows[(table, run_partition(partition, len(self.entries)))].append(row)
        written = [write_index_file(self.folder, t, p, self.run_id, r, unique=True) for (t, p), r in sorted(rows.items())]
        if written:
            written += tidy(self.folder, self.run_id)
        for path in written:
            yield WindowedValue(path, self.latest, [GlobalWindow()])


class AddToIndexAsWritten(beam.PTransform):
    """A stream's index entries -> index files, bundle by bundle, so that a restarted job finds them."""

    def __init__(self, folder: str, run_id: str, settings: DedupeSettings):
        super().__init__()
        self.folder, self.run_id, self.settings = folder, run_id, settings

    def expand(self, entries):
        return entries | "WriteBundles" >> beam.ParDo(_WriteIndexBundle(self.folder, self.run_id, self.settings))
