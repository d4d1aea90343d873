"""Dedupe across runs, in a batch: this run's documents that earlier runs wrote already set aside
(``SkipIngested``), this run's articles looked up in the index that earlier runs wrote (``index``), a
cluster with a copy of an earlier article joined to that article's cluster, and this run's articles added
to the index. Every step is keyed: band partitions, then sketch partitions, then article ids, then this
run's clusters."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Optional

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from transforms.dedupe.clusters import Decision, apply_decision, fewest_candidates, swapped
from transforms.dedupe.fingerprints import DedupeSettings, Fingerprint, band_keys
from transforms.dedupe.index import (
    INDEX_TABLES,
    PARTITION_GROUPS,
    Earlier,
    band_partition,
    best_earlier,
    earlier_candidates,
    earliest,
    event_time,
    index_rows,
    indexed,
    known_ids,
    partition_group,
    rows_batch,
    run_partition,
    sketch_partition,
    tidy,
    wanted_sketches,
    write_run_files,
)
from transforms.files import remove_folder
from transforms.parcels import LookUpParked, Park, Unpark, parcel_keys
from transforms.schema import READ, Article, Duplicate, IndexedSketch, RawDocument
from transforms.stage import ALREADY_INGESTED, counter
from transforms.write.spill import Spill, SpillBuffer, read_spills


@dataclasses.dataclass(frozen=True)
class IndexPlace:
    """Where this run's index lives and what it knows of the run."""

    folder: str  # <version>/_state/dedupe
    run_id: str
    ingested_at: dt.datetime  # when this run read its documents: the event time of undated ones
    look_up: bool  # False when the index holds nothing yet: no lookup to pay for


def _drop_known(documents: Iterable[RawDocument], known: list[str]) -> Iterator[RawDocument]:
    """The documents whose id no earlier run wrote; the others counted."""
    ids, skipped = set(known), counter(READ, ALREADY_INGESTED)
    for document in documents:
        if document.doc_id in ids:
            skipped.inc()
        else:
            yield document


def _known_in_parcel(joined) -> list[tuple[str, str]]:
    """(parcel path, id) for each parcel holding a document whose id an earlier run wrote."""
    doc_id, grouped = joined
    return [(path, doc_id) for path in grouped["parcel"]] if list(grouped["known"]) else []


class SkipIngested(beam.PTransform):
    """Raw documents -> those no earlier run wrote. A document's id is its content within its source
    (``read.content_id``, a feed entry's ``entry_document``), and the index holds the id of every article and
    duplicate written, so a path read again (a JSONL file that grew, a corrected file, file state lost)
    yields only its new documents; the rest are counted ``read/already_ingested``, not read again. The
    documents wait for the answer parked under ``parcels`` (``transforms.parcels``): the runner's
    groupings hold ids and paths, not documents."""

    def __init__(self, place: IndexPlace, parcels: str):
        super().__init__()
        self.place, self.parcels = place, parcels

    def expand(self, documents):
        folder, run_id = self.place.folder, self.place.run_id
        parcels = documents | "Park" >> beam.ParDo(Park(self.parcels, lambda d: d.doc_id))
        where = parcels | "Where" >> beam.FlatMap(parcel_keys, lambda doc_id: (doc_id,))
        known = (
            where
            | "IdsByPartition" >> beam.MapTuple(lambda doc_id, _: (sketch_partition(doc_id), doc_id))
            | "GroupIds" >> beam.GroupByKey()
            | "ReadIds" >> beam.FlatMapTuple(lambda partition, ids: known_ids(folder, partition, ids, run_id))
            | "Known" >> beam.Map(lambda article_id: (article_id, True)).with_output_types(tuple[str, bool])
        )
        routed = {"parcel": where, "known": known} | "Join" >> beam.CoGroupByKey() | "ToParcels" >> beam.FlatMap(_known_in_parcel)
        return {"parcels": parcels, "facts": routed} | "DropKnown" >> Unpark(self.parcels, _drop_known)


def _band_items(fp: Fingerprint, settings: DedupeSettings) -> Iterator[tuple[str, tuple[str, str]]]:
    return ((band_partition(key), (key, fp.article_id)) for key in band_keys(fp.sketch.signature, settings))


def parked_id(parked: tuple[Article, Fingerprint]) -> str:
    """The id of an article parked with its fingerprint (``batch.DeduplicateArticles``)."""
    return parked[1].article_id


def _best(found, place: IndexPlace, settings: DedupeSettings) -> Iterator[tuple[str, Earlier]]:
    earlier, (_, fp) = found
    best = best_earlier(fp.sketch, fp.published_at, place.ingested_at, earlier, settings)
    if best:
        yield fp.article_id, best


class LookUpEarlier(beam.PTransform):
    """{"fingerprints": ..., "where": (id, parcel path) of the parked (article, fingerprint)} -> (article id,
    Earlier) for each that copies an article of an earlier run: its candidates' sketches read from the
    index, then compared with its whole sketch, read from its parcel."""

    def __init__(self, place: IndexPlace, settings: DedupeSettings):
        super().__init__()
        self.place, self.settings = place, settings

    def expand(self, parked):
        folder, run_id = self.place.folder, self.place.run_id
        candidates = (
            parked["fingerprints"]
            | "BandKeys" >> beam.FlatMap(_band_items, self.settings)
            | "ByBandPartition" >> beam.GroupByKey()
            | "ReadBands" >> beam.FlatMapTuple(lambda partition, keys: earlier_candidates(folder, partition, keys, run_id))
            | "ByNew" >> beam.Map(swapped).with_output_types(tuple[str, str])
            | "PerNew" >> beam.GroupByKey()
            | "Fewest" >> beam.FlatMapTuple(fewest_candidates, self.settings.min_shared_bands)  # a flood: a few each
        )
        sketches = (
            candidates
            | "BySketchPartition" >> beam.MapTuple(lambda old_id, _: (sketch_partition(old_id), old_id))
            | "GroupWanted" >> beam.GroupByKey()
            | "ReadSketches" >> beam.FlatMapTuple(lambda partition, ids: wanted_sketches(folder, partition, ids, run_id))
            | "ById" >> beam.Map(lambda s: (s.article_id, s))
        )
        earlier_of_new = (
            {"new": candidates, "sketch": sketches}
            | "JoinSketches" >> beam.CoGroupByKey()
            | "SketchToNew" >> beam.FlatMapTuple(lambda _, g: ((new_id, s) for s in g["sketch"] for new_id in g["new"]))
        )
        return (
            {"wanted": earlier_of_new | "PerNewcomer" >> beam.GroupByKey(), "where": parked["where"]}
            | "Newcomers" >> LookUpParked(parked_id)
            | "Verify" >> beam.FlatMap(_best, self.place, self.settings)
        )


def copy_of_earlier(record: Article | Duplicate, earlier: Optional[Earlier]) -> Article | Duplicate:
    """A record of this run whose cluster copies an earlier article: a duplicate of that article's cluster
    (the earlier files stay as they are, so its ``duplicate_count`` does not grow)."""
    if earlier is None:
        return record
    if isinstance(record, Duplicate):
        return dataclasses.replace(
            record, cluster_id=earlier.cluster_id, canonical_article_id=earlier.cluster_id, similarity=earlier.similarity
        )
    return apply_decision(record, Decision(record.article_id, earlier.cluster_id, earlier.cluster_id, earlier.similarity, 0))


def _members_and_matches(joined) -> Iterator[tuple[str, tuple[str, object]]]:
    """(cluster id, ("member", (article id, parcel path))) for this run's article, and (cluster id, ("match",
    Earlier)) for each earlier article it copies."""
    article_id, grouped = joined
    decisions = list(grouped["decision"])
    cluster_id = decisions[0].cluster_id if decisions else article_id
    for path in grouped["parcel"]:
        yield cluster_id, ("member", (article_id, path))
    for found in grouped["earlier"]:
        yield cluster_id, ("match", found)


def _earlier_to_members(joined) -> list[tuple[str, tuple[str, Earlier]]]:
    _, tagged = joined
    found = earliest([value for kind, value in tagged if kind == "match"])
    members = [value for kind, value in tagged if kind == "member"]
    return [(path, (article_id, found)) for article_id, path in members] if found else []


class EarlierClusters(beam.PTransform):
    """Per article id {"decision": its Decision, if clustered, "parcel": where it is parked, "earlier": the
    Earliers it copies} -> (parcel path, (article id, Earlier)) for every member of a cluster with a copy of
    an earlier article: the whole cluster becomes duplicates of that article's cluster (the earliest, if
    several; ``copy_of_earlier``)."""

    def expand(self, joined):
        return (
            joined
            | "MembersAndMatches" >> beam.FlatMap(_members_and_matches)
            | "ByCluster" >> beam.GroupByKey()
            | "ToMembers" >> beam.FlatMap(_earlier_to_members)
        )


def indexed_sketch(fp: Fingerprint, cluster_id: str, ingested_at: dt.datetime) -> IndexedSketch:
    return indexed(fp.article_id, cluster_id, event_time(fp.published_at, ingested_at), fp.sketch, ingested_at)


class _SpillIndexRows(beam.DoFn):
    """Index entries -> ((table, partition group), spill): each entry's rows (``index_rows``) held
    in the bundle's buffer and written out as Arrow spill files (``transforms.write.spill``)."""

    def __init__(self, folder: str, settings: DedupeSettings):
        self.folder, self.settings = folder, settings

    def start_bundle(self):
        self.buffer = SpillBuffer(self.folder, lambda key, rows: rows_batch(key[0], rows))

    def process(self, entry: IndexedSketch):
        for table, partition, row in index_rows(entry, self.settings):
            yield from self.buffer.add((table, partition_group(partition)), [row])

    def finish_bundle(self):
        for spilled in self.buffer.spill():
            yield GlobalWindows.windowed_value(spilled)


def _every_group(articles: int) -> Iterator[tuple[tuple[str, str], int]]:
    """The run's article count, to every (table, partition group) key its spills can have."""
    return (((table, group), articles) for table in INDEX_TABLES for group in PARTITION_GROUPS)


def placed_spills(joined) -> Iterator[tuple[tuple[str, str], list[Spill]]]:
    """One group's spills, moved to where a run of this size writes them (``index.run_partition``)."""
    (table, group), grouped = joined
    spills = list(grouped["spills"])
    if spills:
        (articles,) = grouped["articles"]
        yield (table, run_partition(group, articles)), spills


def write_spilled(group: tuple[tuple[str, str], Iterable[list[Spill]]], place: IndexPlace) -> list[str]:
    """((table, partition or ``part=all``), lists of spills) -> the run's index files written from them."""
    (table, partition), spills = group
    data = read_spills([spill for placed in spills for spill in placed], INDEX_TABLES[table])
    return write_run_files(place.folder, table, partition, place.run_id, data)


def _written_and_tidied(written: list[str], place: IndexPlace, spills: str) -> list[str]:
    """Once every file of the run is written: the spills removed, then the index tidied."""
    remove_folder(spills)
    return [*written, *tidy(place.folder, place.run_id)]


class AddToIndex(beam.PTransform):
    """This run's index entries (``indexed_sketch``, with their final cluster) -> the index files written:
    one per table and partition (a small run: one per table, ``index.run_partition``), then the index tidied
    (``index.tidy``) by one worker once they are all written; a run that adds no entry writes and tidies
    nothing. A run adds files, never rewrites one. The rows wait for their files in spill files under
    ``spills``, so the runner's groupings hold paths, not rows (an entry: ~2.5 KB of sketch and band rows).
    The run's entry count reaches the groups by a join, not a side input (``pipelines.adapter``: on the
    DaskRunner a side input's lineage runs twice)."""

    def __init__(self, place: IndexPlace, settings: DedupeSettings, spills: str):
        super().__init__()
        self.place, self.settings, self.spills = place, settings, spills

    def expand(self, entries):
        place, spills = self.place, self.spills
        articles = (
            entries
            | "CountEntries" >> beam.combiners.Count.Globally().without_defaults()
            | "ToEveryGroup" >> beam.FlatMap(_every_group)
        )
        return (
            {"spills": entries | "Spill" >> beam.ParDo(_SpillIndexRows(spills, self.settings)), "articles": articles}
            | "WithCount" >> beam.CoGroupByKey()
            | "Place" >> beam.FlatMap(placed_spills)
            | "ByFile" >> beam.GroupByKey()
            | "WriteFiles" >> beam.FlatMap(write_spilled, place)
            | "AllWritten" >> beam.combiners.ToList().without_defaults()
            | "Tidy" >> beam.FlatMap(_written_and_tidied, place, spills)
        )
