"""Key sets read by key (issue 24, item 5): the digests of the files ingested, partitioned by their hash, so
a run loads only the partitions of the files it reads, and a partition's small files are merged."""

from __future__ import annotations

import os

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from transforms.files import StateFileError
from transforms.keyed_sets import MAX_FILES, KeyedSet, add_keys, add_partition_keys, key_partition, partition_folders
from transforms.read import ReadDocuments, RememberFiles
from transforms.write.compact import compact_key_sets


def test_a_key_is_found_by_loading_its_partition_only(tmp_path):
    folder = str(tmp_path / "files")
    keys = [f"digest{n} /data/file{n}.txt" for n in range(2000)]
    add_keys(folder, keys)
    assert len(partition_folders(folder)) == 256
    found = KeyedSet(folder)
    assert keys[5] in found and "digest5 /data/other.txt" not in found
    assert set(found.loaded) == {key_partition(keys[5]), key_partition("digest5 /data/other.txt")}


def test_keys_written_before_partitioning_are_still_found(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "old.txt").write_text("digest1 /data/a.txt\n")
    add_keys(str(folder), ["digest2 /data/b.txt"])
    found = KeyedSet(str(folder))
    assert "digest1 /data/a.txt" in found and "digest2 /data/b.txt" in found and "digest3 /data/c.txt" not in found


def test_a_partition_is_merged_past_its_file_limit_and_compaction_merges_each(tmp_path):
    folder = str(tmp_path / "files")
    for run in range(MAX_FILES * 2 + 3):
        add_partition_keys(folder, "ab", [f"key{run}"])
        assert len(os.listdir(os.path.join(folder, "part=ab"))) <= MAX_FILES
    assert all(f"key{run}" in KeyedSet(folder)._partition("ab") for run in range(MAX_FILES * 2 + 3))
    add_partition_keys(folder, "cd", ["x"])
    add_partition_keys(folder, "cd", ["y"])
    compact_key_sets(str(tmp_path))
    assert [len(os.listdir(os.path.join(folder, p))) for p in ("part=ab", "part=cd")] == [1, 1]
    assert {"x", "y"} == set(KeyedSet(folder)._partition("cd"))


def test_a_damaged_key_file_is_never_merged_away(tmp_path):
    """A partition's merge, or compaction, that meets a key file it cannot read stops with the file named
    and deletes nothing: merged as empty, its keys would be lost and their files read again."""
    folder = str(tmp_path / "files")
    for run in range(MAX_FILES - 1):
        add_partition_keys(folder, "ab", [f"key{run}"])
    damaged = os.path.join(folder, "part=ab", "damaged.txt")
    with open(damaged, "wb") as handle:
        handle.write(b"key\xff cut")
    before = sorted(os.listdir(os.path.join(folder, "part=ab")))
    with pytest.raises(StateFileError, match="damaged.txt"):
        compact_key_sets(str(tmp_path))
    assert sorted(os.listdir(os.path.join(folder, "part=ab"))) == before
    with pytest.raises(StateFileError, match="damaged.txt"):
        add_partition_keys(folder, "ab", ["one too many"])  # past MAX_FILES: merged
    assert set(before) < set(os.listdir(os.path.join(folder, "part=ab")))  # the new file added, none deleted


def test_a_run_remembers_its_files_by_partition_and_the_next_skips_them(tmp_path, test_pipeline):
    inputs, files_dir = tmp_path / "in", str(tmp_path / "state" / "files")
    inputs.mkdir()
    for n in range(10):
        (inputs / f"{n}.txt").write_text(f"Story {n}\n\nA paragraph of story number {n} about the harbour and its ships.\n")
    with test_pipeline as p:
        read = p | ReadDocuments([str(inputs / "*.txt")], files_dir)
        _ = read.files | RememberFiles(files_dir)
    assert len(partition_folders(files_dir)) <= 10  # a run of 10 files adds at most 10 key files
    assert sum(len(os.listdir(folder)) for folder in partition_folders(files_dir)) <= 10
    with beam.Pipeline(runner=test_pipeline.runner, options=test_pipeline.options) as p:
        read = p | ReadDocuments([str(inputs / "*.txt")], files_dir)
        assert_that(read.skipped | beam.Map(lambda s: os.path.basename(s.path)), equal_to([f"{n}.txt" for n in range(10)]))
