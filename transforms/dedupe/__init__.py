"""Dedupe: exact duplicates by a normalised-text hash, near duplicates by MinHash LSH, one article kept per
cluster. ``fingerprints`` (what is compared), ``clusters`` (plain functions over groups), ``batch`` (the
Beam steps of a batch run) and ``across_time`` (a stream's dedupe against what it saw before)."""

from transforms.dedupe.across_time import DeduplicateAcrossTime
from transforms.dedupe.batch import DeduplicateArticles
from transforms.dedupe.fingerprints import DedupeSettings

__all__ = ["DedupeSettings", "DeduplicateAcrossTime", "DeduplicateArticles"]
