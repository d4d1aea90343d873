"""Key sets that stay cheap as they grow (the digests of the files ingested, ``STATE/files/``).

Every run used to load every key ever written (a million file digests: every worker's ``setup`` read them
all, and held them), so a deployment's start-up time and memory grew with its age (issue 24). Keys are
partitioned by their hash, one key a line, like the dedupe index:

    <folder>/part=<xx>/<name>.txt

A reader asks for a key and loads only its partition, once per process (``KeyedSet``); a writer adds one
file per partition it touches (``add_keys``), and a partition's files are merged into one when it holds
more than ``MAX_FILES``, by the run that adds the one too many. Key files written before (flat, in
``<folder>``) are still read, whole, once per process: they no longer grow. Keys are not pruned: read by
key, their number costs neither time nor memory, only disk (about 80 bytes a file ingested); a digest
that were dropped would only make a file read again, its documents then set aside as already ingested by
the dedupe index.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Iterable

from apache_beam.io.filesystems import FileSystems

from transforms.files import read_key_sets, read_state_text, write_key_set

PARTITION_HEX = 2  # 256 partitions: a million keys are ~4,000 a partition
MAX_FILES = 8  # a partition's files merged into one when it holds more
CACHED_PARTITIONS = 64  # partitions a reader keeps loaded (a run of a few files touches a few)


def key_partition(key: str) -> str:
    return hashlib.md5(key.encode("utf-8")).hexdigest()[:PARTITION_HEX]


def partition_folder(folder: str, partition: str) -> str:
    return FileSystems.join(folder, f"part={partition}")


def _key_files(folder: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([FileSystems.join(folder, "*.txt")])[0].metadata_list)


class KeyedSet:
    """``key in KeyedSet(folder)``: whether a key was added, loading only the key's partition."""

    def __init__(self, folder: str):
        self.folder = folder
        self.loaded: collections.OrderedDict[str, frozenset[str]] = collections.OrderedDict()
        self.flat: frozenset[str] | None = None

    def __contains__(self, key: str) -> bool:
        if self.flat is None:
            self.flat = frozenset(read_key_sets(self.folder))  # written before keys were partitioned
        return key in self.flat or key in self._partition(key_partition(key))

    def _partition(self, partition: str) -> frozenset[str]:
        if partition in self.loaded:
            self.loaded.move_to_end(partition)
        else:
            self.loaded[partition] = frozenset(read_key_sets(partition_folder(self.folder, partition)))
            if len(self.loaded) > CACHED_PARTITIONS:
                self.loaded.popitem(last=False)
        return self.loaded[partition]


def add_partition_keys(folder: str, partition: str, keys: Iterable[str], name: str | None = None) -> list[str]:
    """Add keys of one partition as one new file, then merge the partition's files into one when it holds
    more than ``MAX_FILES``; returns the files written. One writer per partition at a time (a run groups
    its keys by partition)."""
    where = partition_folder(folder, partition)
    written = [path for path in [write_key_set(where, keys, name)] if path]
    old = _key_files(where)
    if len(old) > MAX_FILES:
        merged = write_key_set(where, set().union(*(read_state_text(p).splitlines() for p in old)) - {""})
        FileSystems.delete([p for p in old if p != merged])
        written.append(merged)
    return written


def add_keys(folder: str, keys: Iterable[str], name: str | None = None) -> list[str]:
    """Add keys, one file per partition they fall in (``add_partition_keys``)."""
    by_partition: dict[str, list[str]] = collections.defaultdict(list)
    for key in keys:
        by_partition[key_partition(key)].append(key)
    return [path for p, ks in sorted(by_partition.items()) for path in add_partition_keys(folder, p, ks, name)]


def partition_folders(folder: str) -> list[str]:
    """The partition folders of a key set (for compaction)."""
    found = FileSystems.match([FileSystems.join(folder, "part=*", "*.txt")])[0].metadata_list
    return sorted({m.path.rsplit("/", 1)[0] for m in found})
