"""Fingerprints: what dedupe compares of an article, small enough for every shuffle.

A content hash of the normalised words finds exact copies; a MinHash signature of word shingles, cut
into LSH bands, finds near copies. Defaults (``DedupeSettings``, docs/dedupe.md has the figures behind
them): 5-word shingles, 120 permutations as 24 bands x 5 rows (the LSH curve's midpoint is
(1/24)^(1/5) = 0.53, so a pair at the 0.7 threshold is a candidate with probability 0.988), and a verified
Jaccard threshold of 0.7.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from typing import Optional

import numpy as np

from transforms.schema import Article
from transforms.settings import option
from transforms.text import words


@dataclasses.dataclass(frozen=True)
class DedupeSettings:
    shingle_size: int = option(5, "words per shingle for MinHash")
    bands: int = option(24, "LSH bands; permutations = bands x rows", flag="lsh_bands")
    rows: int = option(5, "rows per LSH band", flag="lsh_rows")
    threshold: float = option(
        0.7,
        "estimated Jaccard similarity of word shingles at which two articles are near duplicates",
        flag="similarity_threshold",
    )
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


_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")  # U.S. -> US, so that "U.S." and "US" shingle alike


def normalise_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    return words(_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text))


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
