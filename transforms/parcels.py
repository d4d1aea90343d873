"""Records parked on disk between two stages, so that a join in Beam's local runner holds paths, not records.

The local runner holds the whole of a grouping, coder-encoded, in its own process until the stage after it
has read it (docs/scale.md): a join of every tagged article to the label decisions it reads held the run's
articles there, ~6.5 KB each, at the end of the run. Parked instead, each worker writes its records to
parcel files (pickled, a bounded number at a time) and hands on one small summary per parcel: its path
and what the join needs of each record. The join is keyed by the parcel's path, and the stage after it
reads the parcel back. Parcels live under the run's version (``parcel_folder``): a failed run's go with
its version, and ``Unpark`` removes them once every parcel was read.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from transforms.files import ensure_folder, remove_folder

# A parcel's records at most. The local runner deals a stage's parcels to its workers in turns: a worker
# with one parcel more has ~2 s more of tagging at 64 (a tagged article: ~6.5 KB pickled).
PARCEL_RECORDS = 64
PARCEL_BYTES = 16 << 20  # pickled bytes in a parcel at most (raw pages can be megabytes each)

Parcel = tuple[str, list]  # (path, the summary of each record in it, in order)


def parcel_folder(root: str, step: str) -> str:
    """The folder under a run's version (``root``) where ``step`` parks its records."""
    return FileSystems.join(root, f"_parcels-{step}")


def read_parcel(path: str) -> Iterator:
    """A parcel's records, one at a time."""
    with FileSystems.open(path) as source:
        while True:
            try:
                yield pickle.load(source)
            except EOFError:
                return


def parcel_keys(parcel: Parcel, keys_of: Callable[[Any], Iterable[Hashable]]) -> list[tuple[Hashable, str]]:
    """(key, path) once for each key of the parcel's records (``keys_of(summary)``): what a join routes its
    facts to the parcel by (an article id, a name)."""
    path, summaries = parcel
    return [(key, path) for key in {key for summary in summaries for key in keys_of(summary)}]


def _to_parcel(joined) -> Iterator[tuple[str, tuple[Hashable, Any]]]:
    key, grouped = joined
    for path in grouped["where"]:
        for item in grouped["wanted"]:
            yield path, (key, item)


def _found(group: tuple[str, Iterable[tuple[Hashable, Any]]], key_of: Callable[[Any], Hashable]) -> Iterator[tuple[Any, Any]]:
    path, wanted = group
    items: dict[Hashable, list] = {}
    for key, item in wanted:
        items.setdefault(key, []).append(item)
    for record in read_parcel(path):
        for item in items.get(key_of(record), ()):
            yield item, record


class LookUpParked(beam.PTransform):
    """{"wanted": (key, item), "where": (key, parcel path)} -> (item, record) for each item whose key's
    record is parked (``key_of(record)``): the items routed to their records' parcels, each parcel read
    once for all of them. For what is too large to travel in a summary and needed for a few records only
    (dedupe: the outlines of the pairs worth comparing)."""

    def __init__(self, key_of: Callable[[Any], Hashable]):
        super().__init__()
        self.key_of = key_of

    def expand(self, inputs):
        return (
            inputs
            | "JoinWhere" >> beam.CoGroupByKey()
            | "ToParcels" >> beam.FlatMap(_to_parcel)
            | "ByParcel" >> beam.GroupByKey()
            | "ReadParcels" >> beam.FlatMap(_found, self.key_of)
        )


def _as_they_are(records: Iterable, facts: list) -> Iterable:
    return records


class Park(beam.DoFn):
    """Records -> parcels (path, [summary(record), ...]): each record pickled to the bundle's open parcel
    file as it comes, a new file after ``PARCEL_RECORDS`` records or ``PARCEL_BYTES``; no summaries without
    ``summary``. A parcel file is not written atomically: it is read only once its path was handed on, after
    it was closed. Parcels are in the global window (batch)."""

    def __init__(self, folder: str, summary: Optional[Callable[[Any], Any]] = None):
        self.folder, self.summary = folder, summary

    def setup(self):
        self.folder_made = False  # made with the first parcel: a step that parks nothing leaves no folder

    def start_bundle(self):
        self.sink = None

    def process(self, record):
        if self.sink is None:
            self._open()
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        self.sink.write(data)
        self.count, self.bytes = self.count + 1, self.bytes + len(data)
        if self.summary:
            self.summaries.append(self.summary(record))
        if self.count >= PARCEL_RECORDS or self.bytes >= PARCEL_BYTES:
            yield self._close()

    def _open(self) -> None:
        if not self.folder_made:
            ensure_folder(self.folder)
            self.folder_made = True
        self.path = FileSystems.join(self.folder, f"{uuid.uuid4().hex}.pickle")
        self.sink, self.summaries, self.count, self.bytes = FileSystems.create(self.path), [], 0, 0

    def finish_bundle(self):
        if self.sink is not None:
            yield GlobalWindows.windowed_value(self._close())

    def _close(self) -> Parcel:
        self.sink.close()
        self.sink = None
        return self.path, self.summaries


class _ReadBack(beam.DoFn):
    """(path, {"parcel": ..., "fact": ...}) -> apply(the parcel's records, its facts); the path, once read, to
    the output ``read``."""

    def __init__(self, apply: Callable[[Iterator, list], Iterable]):
        self.apply = apply

    def process(self, joined):
        path, groups = joined
        yield from self.apply(read_parcel(path), list(groups.get("fact", ())))
        yield beam.pvalue.TaggedOutput("read", path)


class Unpark(beam.PTransform):
    """{"parcels": parcels, "facts": (path, fact)} -> what ``apply(records, facts)`` makes of each parcel's
    records (an iterator) and the facts routed to it (none for most parcels), read back in the stage after the join.
    Without "facts", the join by path spreads the parcels over the workers as a reshuffle would. The folder
    is removed once every parcel was read (a count over the paths read waits for the last one; no default:
    a run that parked nothing made no folder)."""

    def __init__(self, folder: str, apply: Callable[[Iterator, list], Iterable] = _as_they_are):
        super().__init__()
        self.folder, self.apply = folder, apply

    def expand(self, inputs):
        folder = self.folder
        keyed = {"parcel": inputs["parcels"] | "ByPath" >> beam.Map(lambda parcel: (parcel[0], None))}
        if "facts" in inputs:
            keyed["fact"] = inputs["facts"]
        out = (
            keyed
            | "JoinParcels" >> beam.CoGroupByKey()
            | "ReadBack" >> beam.ParDo(_ReadBack(self.apply)).with_outputs("read", main="records")
        )
        _ = (
            out.read
            | "AllRead" >> beam.combiners.Count.Globally().without_defaults()
            | "RemoveParcels" >> beam.Map(lambda _: remove_folder(folder))
        )
        return out.records
