"""What every stage shares: failures become error rows, one stream of records splits by type, and large
records cross a shuffle packed.

Stages emit healthy records and ``ErrorRecord``s (or ``Duplicate``s) on one output, and ``SplitByType``
separates them with one filter per type. Side outputs (``with_outputs``) would save that pass, but Beam
2.77's DaskRunner delivers tagged outputs into the main output; filters are correct on every runner and
cost about a microsecond per element.
"""

from __future__ import annotations

import collections
import pickle
from typing import Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow as pa

from transforms.schema import ErrorRecord


class ApplyOrRecordError(beam.DoFn):
    """Apply a stage's function to each record. One odd document must not stop a run of millions, so a
    failure becomes an ``ErrorRecord`` (stage, reason, excerpt) and the run goes on."""

    def __init__(self, fn: Callable, stage: str, *args):
        self.fn, self.stage, self.args = fn, stage, args

    def process(self, record) -> Iterable:
        try:
            yield self.fn(record, *self.args)
        except Exception as e:
            content = getattr(record, "text", None) or getattr(record, "body", "")
            reason = f"{type(e).__name__}: {e}"
            yield ErrorRecord.of(record.source_path, self.stage, reason, content, getattr(record, "feed_url", None))


def _is_a(record, record_type: type) -> bool:
    return isinstance(record, record_type)


class SplitByType(beam.PTransform):
    """One PCollection of mixed records -> a named tuple of PCollections, one per record type:
    ``records | SplitByType(articles=Article, errors=ErrorRecord)`` gives ``.articles`` and ``.errors``."""

    def __init__(self, **types: type):
        super().__init__()
        self.types = types

    def expand(self, records):
        outputs = collections.namedtuple("Outputs", list(self.types))
        return outputs(
            **{name: records | f"Only{name.title()}" >> beam.Filter(_is_a, record_type) for name, record_type in self.types.items()}
        )


# A shuffle keeps what it carries: Beam's local runner holds every grouped value as a Python object in
# one process (a tagged article: ~19 KB), and Dataflow bills shuffled bytes. Records as big as an
# article cross a GroupByKey as one compressed pickle each (~2 KB), unpacked on the other side.
_CODEC = pa.Codec("zstd", compression_level=1)


def pack(record) -> bytes:
    data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(4, "little") + _CODEC.compress(data, asbytes=True)


def unpack(packed: bytes):
    size = int.from_bytes(packed[:4], "little")
    return pickle.loads(_CODEC.decompress(packed[4:], decompressed_size=size, asbytes=True))


class _Unpacked:
    """A group's values, unpacked one at a time as they are iterated (a group can be large)."""

    def __init__(self, packed: Iterable[bytes]):
        self.packed = packed

    def __iter__(self) -> Iterator:
        return map(unpack, self.packed)


def _pack_value(key, value) -> tuple:
    return key, pack(value)


def _unpack_values(key, packed: Iterable[bytes]) -> tuple:
    return key, _Unpacked(packed)


def _unpack_joined(key, grouped: dict) -> tuple:
    return key, {tag: _Unpacked(packed) for tag, packed in grouped.items()}


class GroupByKeyPacked(beam.PTransform):
    """``GroupByKey`` for large records: the same (key, values) out, but each value crosses the shuffle
    packed, so the shuffle holds a few compact bytes objects instead of the records' object graphs."""

    def expand(self, pairs):
        return (
            pairs
            | "Pack" >> beam.MapTuple(_pack_value)
            | "Group" >> beam.GroupByKey()
            | "Unpack" >> beam.MapTuple(_unpack_values)
        )


class CoGroupByKeyPacked(beam.PTransform):
    """``CoGroupByKey`` with every input's values packed across the shuffle: {tag: (key, value)} ->
    (key, {tag: values}), as ``CoGroupByKey`` gives."""

    def expand(self, tagged: dict):
        packed = {tag: pairs | f"Pack_{tag}" >> beam.MapTuple(_pack_value) for tag, pairs in tagged.items()}
        return packed | "Join" >> beam.CoGroupByKey() | "Unpack" >> beam.MapTuple(_unpack_joined)
