"""Decompression, owned once (transforms/compression.py): members after members, bounded pieces, damage
reported and skipped."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from transforms.compression import decompress, decompressed


def text(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return " ".join(rng.choice(["news", "story", "wire", "desk", "report", str(rng.random())]) for _ in range(n)).encode()


def test_members_larger_than_a_piece_follow_each_other_whole():
    """A member that ends inside the input left over from a bounded piece: CPython keeps that input as
    ``unconsumed_tail`` after the member's end too, and feeding it again looped for ever (a 1000-record
    WARC of 180 KB pages hung on its first record)."""
    members = [text(30_000, seed) for seed in range(4)]
    data = b"".join(gzip.compress(m) for m in members)
    pieces = list(decompressed("a.warc.gz", io.BytesIO(data), chunk=4096))
    assert b"".join(pieces) == b"".join(members) and max(map(len, pieces)) <= 4096


def test_a_corrupt_member_is_reported_and_the_next_one_read():
    members = [text(2000, seed) for seed in range(3)]
    parts = [bytearray(gzip.compress(m)) for m in members]
    parts[1][len(parts[1]) // 2 : len(parts[1]) // 2 + 8] = b"\xff" * 8
    damage = []
    out = b"".join(
        decompressed("a.gz", io.BytesIO(b"".join(parts)), chunk=512, on_damage=lambda at, why: damage.append((at, why)))
    )
    assert out.startswith(members[0]) and out.endswith(members[2])
    assert [at for at, _ in damage] == [len(parts[0])] and "corrupt or truncated gzip member" in damage[0][1]


def test_without_a_damage_handler_damage_is_an_error():
    with pytest.raises(ValueError, match="corrupt or truncated gzip data: the stream ends early"):
        decompress("a.gz", gzip.compress(text(5000, 1))[:500], None)
    with pytest.raises(ValueError, match="larger than 1000 bytes"):
        decompress("a.gz", gzip.compress(b"a" * 100_000), 1000)
