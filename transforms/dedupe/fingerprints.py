"""Fingerprints: what dedupe compares of an article, small enough for every shuffle, and when two are copies.

A content hash of the normalised words finds exact copies; a MinHash signature of word shingles, cut into
LSH bands, finds candidate near copies. Syndicated copies are trimmed, re-paragraphed, given a dateline or
credit line and lightly copy-edited, which costs Jaccard similarity more than it should, while a follow-up
that reuses a few background paragraphs shares only part of either story. So a candidate pair is judged on
two shares (Broder 1997, resemblance and containment), both estimated from each article's signature and
number of distinct shingles (Jaccard J and set sizes a, b give an intersection of J (a + b) / (1 + J)):

* containment: how much of the *shorter* text the longer one contains (a trimmed copy: all of it), and
* coverage: how much of the *longer* text the shorter one repeats (a follow-up reusing half: about half).

Shares cannot tell two follow-ups that reuse the same half of one story from two copies of it, so the pair
is also judged on where the texts differ: a copy differs by scattered edits, a trimmed tail, a dateline or
credit line, or chrome the clean stage left on one side; two stories that share text each carry a passage of
their own. Each article keeps an *outline* (a 16-bit hash of every shingle, in order) for that check.

Defaults (``DedupeSettings``; docs/dedupe.md has the figures): word 3-grams over the whole text (paragraph
breaks do not exist for them, and each edited word costs 3 shingles, not 5), 120 permutations as 24 bands x
5 rows, a pair compared when it shares 2 band keys or more (a trimmed copy the rule accepts has Jaccard >=
0.7 and is compared with probability 0.93; unrelated stories sharing 14% of their 3-grams through stock
phrases share one key with probability 0.0013, two with 8e-7), duplicate when containment >= 0.8 and
coverage >= 0.7.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import re
import unicodedata
import zlib
from typing import Optional

import numpy as np

from transforms.schema import Article
from transforms.settings import duration, option
from transforms.text import words

MAX_PERMUTATIONS = 1024


@dataclasses.dataclass(frozen=True)
class DedupeSettings:
    shingle_size: int = option(3, "words per shingle for MinHash", minimum=1, maximum=16)
    bands: int = option(
        24, f"LSH bands; permutations = bands x rows, at most {MAX_PERMUTATIONS}", flag="lsh_bands", minimum=1, maximum=256
    )
    rows: int = option(5, "rows per LSH band", flag="lsh_rows", minimum=1, maximum=32)
    min_shared_bands: int = option(
        2, "LSH band keys two articles must share to be compared", flag="lsh_min_shared", minimum=1, maximum=256
    )
    min_containment: float = option(
        0.8,
        "near duplicates: least share of the shorter text's shingles found in the longer (below half, it is no copy)",
        minimum=0.5,
        maximum=1.0,
    )
    min_coverage: float = option(
        0.7,
        "near duplicates: least share of the longer text's shingles repeated by the shorter",
        minimum=0.2,
        maximum=1.0,
    )
    own_passage: int = option(
        60,
        "near duplicates: two texts that each carry a passage this many shingles long that the other lacks are two stories",
        minimum=10,
        maximum=1_000_000,
    )
    horizon: float = option(
        7 * 86400.0,
        "how far back copies of earlier runs' and a stream's articles are looked for (publications compared when both are "
        "dated, else ingestion times)",
        flag="dedupe_horizon",
        parse=duration,
        minimum=60,
        maximum=36500 * 86400,
    )
    seed: int = 1

    @property
    def permutations(self) -> int:
        return self.bands * self.rows

    def check(self) -> None:
        """Signatures are 4 bytes per permutation in every shuffle and index row: bounded."""
        if self.permutations > MAX_PERMUTATIONS:
            raise ValueError(
                f"--lsh_bands {self.bands} x --lsh_rows {self.rows} is {self.permutations} permutations: "
                f"at most {MAX_PERMUTATIONS} (4 bytes each per article, in every shuffle and in the index)"
            )
        if self.min_shared_bands > self.bands:
            raise ValueError(f"--lsh_min_shared {self.min_shared_bands} is more than the {self.bands} --lsh_bands")


@dataclasses.dataclass(frozen=True)
class Sketch:
    """What verification needs of one article: 4 bytes per permutation and a count."""

    signature: bytes  # the MinHash values as packed little-endian uint32: 480 bytes, not 120 Python ints
    shingles: int  # distinct shingles the signature summarises: what turns Jaccard into containment
    outline: bytes = b""  # every shingle's 16-bit hash in text order (uint16 LE); empty: not known


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """What dedupe needs of an article: small, so that every shuffle stays cheap."""

    article_id: str
    content_hash: str
    published_at: Optional[dt.datetime]
    word_count: int
    sketch: Sketch


@dataclasses.dataclass(frozen=True)
class Overlap:
    jaccard: float
    containment: float  # of the shorter in the longer
    coverage: float  # of the longer by the shorter


_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")  # U.S. -> US, so that "U.S." and "US" shingle alike


def normalise_words(text: str) -> list[str]:
    """Lower-cased word tokens: case, punctuation, spacing, line breaks and Unicode form do not count."""
    text = unicodedata.normalize("NFKC", text)
    return words(_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text))


def content_hash(text: str) -> str:
    """Equal for texts that differ only in case, punctuation, spacing or Unicode form."""
    return hashlib.sha256(" ".join(normalise_words(text)).encode("utf-8")).hexdigest()


def with_content_hash(article: Article) -> Article:
    return dataclasses.replace(article, content_hash=content_hash(article.text))


def shingle_sequence(tokens: list[str], size: int) -> list[str]:
    """Word n-grams over the whole text, in order; a text no longer than n is one shingle."""
    if len(tokens) <= size:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def shingles(tokens: list[str], size: int) -> set[str]:
    return set(shingle_sequence(tokens, size))


def outline(sequence: list[str]) -> bytes:
    """Each shingle as 16 bits, in order: enough to see where two texts differ, at 2 bytes a word."""
    return np.array([zlib.crc32(g.encode("utf-8")) & 0xFFFF for g in sequence], dtype="<u2").tobytes()


def sketch(text: str, settings: DedupeSettings = DedupeSettings()) -> Sketch:
    from rensa import RMinHash

    sequence = shingle_sequence(normalise_words(text), settings.shingle_size)
    grams = set(sequence)
    minhash = RMinHash(num_perm=settings.permutations, seed=settings.seed)
    minhash.update(list(grams))  # a minimum: the order of the shingles does not matter
    return Sketch(np.asarray(minhash.digest(), dtype="<u4").tobytes(), len(grams), outline(sequence))


def signature_only(fp: Fingerprint) -> Fingerprint:
    """A fingerprint without its outline, for the steps that never compare passages: an outline is most of
    a fingerprint's bytes (2 a word, against 480 for the signature)."""
    return dataclasses.replace(fp, sketch=dataclasses.replace(fp.sketch, outline=b""))


def fingerprint(article: Article, settings: DedupeSettings = DedupeSettings()) -> Fingerprint:
    return Fingerprint(
        article.article_id, article.content_hash, article.published_at, article.word_count, sketch(article.text, settings)
    )


def band_keys(signature: bytes, settings: DedupeSettings = DedupeSettings()) -> list[str]:
    """One key per band, ``band:hash of its rows``: articles that share a key are candidate pairs."""
    width = settings.rows * 4
    return [
        f"{band}:{hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(settings.bands)
    ]


BUCKET_HEX = 2  # each band's keys are spread over 16^2 buckets


def bucket(band_key: str) -> str:
    """The shuffle key of a band key: its band and first ``BUCKET_HEX`` hex digits. Almost every band
    key is unique, and a grouping table holding millions of one-element keys costs several times the
    data; a few hundred keys per bucket do not."""
    return band_key[: band_key.index(":") + 1 + BUCKET_HEX]


def bucketed_band_keys(signature: bytes, settings: DedupeSettings = DedupeSettings()) -> list[tuple[str, str]]:
    """(bucket, band key) for each LSH band: how batch and streaming dedupe both key their buckets."""
    return [(bucket(key), key) for key in band_keys(signature, settings)]


def candidate_probability(jaccard_: float, settings: DedupeSettings = DedupeSettings()) -> float:
    """The LSH S-curve: the chance that a pair with this Jaccard similarity shares ``min_shared_bands``
    band keys or more."""
    p, n = jaccard_**settings.rows, settings.bands
    return 1.0 - sum(math.comb(n, k) * p**k * (1.0 - p) ** (n - k) for k in range(settings.min_shared_bands))


def _equal_values(a: bytes, b: bytes) -> Optional[np.ndarray]:
    """Which MinHash values two signatures share; None when they cannot be compared."""
    if not a or len(a) != len(b):
        return None
    return np.frombuffer(a, dtype="<u4") == np.frombuffer(b, dtype="<u4")


def shared_bands(a: bytes, b: bytes, settings: DedupeSettings = DedupeSettings()) -> int:
    """How many band keys two signatures share: the bands whose rows are all equal."""
    equal = _equal_values(a, b)
    if equal is None or equal.size != settings.permutations:
        return 0
    return int(equal.reshape(settings.bands, settings.rows).all(axis=1).sum())


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two shingle sets: the share of equal MinHash values."""
    equal = _equal_values(a, b)
    return 0.0 if equal is None else float(equal.mean())


def overlap(a: Sketch, b: Sketch) -> Overlap:
    """Jaccard, containment and coverage of two sketches, the last two from J and the set sizes."""
    if not a.shingles or not b.shingles:
        return Overlap(0.0, 0.0, 0.0)
    j = jaccard(a.signature, b.signature)
    shared = j * (a.shingles + b.shingles) / (1.0 + j)
    small, large = sorted((a.shingles, b.shingles))
    return Overlap(j, min(1.0, shared / small), min(1.0, shared / large))


def is_duplicate(found: Overlap, settings: DedupeSettings = DedupeSettings()) -> bool:
    """Most of the shorter text comes from the longer, and it repeats most of the longer."""
    return found.containment >= settings.min_containment and found.coverage >= settings.min_coverage


BRIDGE = 3  # fewer shared shingles in a row than this (a stock phrase, a hash collision) do not end a passage


def own_passage(a: bytes, b: bytes) -> int:
    """The longest stretch of ``a`` (in shingles) between two runs of shingles that ``b`` shares, from the
    two outlines."""
    in_b = np.zeros(1 << 16, dtype=bool)
    in_b[np.frombuffer(b, dtype="<u2")] = True
    shared = in_b[np.frombuffer(a, dtype="<u2")]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], shared.view(np.int8), [0]))))
    starts, ends = edges[::2], edges[1::2]  # runs of shared shingles, [start, end)
    long_runs = (ends - starts) >= BRIDGE
    cuts_start = np.concatenate(([0], ends[long_runs]))  # a passage runs from the end of one long shared run ...
    cuts_end = np.concatenate((starts[long_runs], [len(shared)]))  # ... to the start of the next
    return int((cuts_end - cuts_start).max())


def two_stories(a: bytes, b: bytes, settings: DedupeSettings = DedupeSettings()) -> bool:
    """Whether each text carries a passage of its own, from their outlines: two stories that share text,
    not two copies. Unknown (an outline missing) counts as no."""
    return bool(a and b) and min(own_passage(a, b), own_passage(b, a)) >= settings.own_passage


def similarity(a: Sketch, b: Sketch, settings: DedupeSettings = DedupeSettings()) -> Optional[float]:
    """The pair's estimated coverage if their signatures say they could be copies, else None."""
    found = overlap(a, b)
    return round(found.coverage, 4) if is_duplicate(found, settings) else None


def verify(a: Sketch, b: Sketch, settings: DedupeSettings = DedupeSettings()) -> Optional[float]:
    """The pair's score (estimated coverage: the ``similarity`` column) if they are copies of one story, else None."""
    score = similarity(a, b, settings)
    return score if score is not None and not two_stories(a.outline, b.outline, settings) else None


def canonical_order(member: Fingerprint) -> tuple:
    """Which copy a cluster keeps: the earliest published (undated last), then the longest, then the
    smallest id, so the choice is the same on every run and every runner."""
    undated = member.published_at is None
    return (undated, member.published_at if not undated else None, -member.word_count, member.article_id)
