"""Large records cross a shuffle packed.

A shuffle keeps what it carries: Beam's local runner holds every grouped value as a Python object in
one process (a tagged article: ~19 KB), and Dataflow bills shuffled bytes. Records as big as an
article cross a GroupByKey as one compressed pickle each (~2 KB), unpacked on the other side.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

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


def _pack_value(key, value) -> tuple[Any, bytes]:
    return key, pack(value)


def _unpack_values(key, packed: Iterable[bytes]) -> tuple[Any, Iterable]:
    return key, _Unpacked(packed)


def _unpack_joined(key, grouped: dict) -> tuple[Any, dict]:
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
