"""Dedupe: exact duplicates by a normalised-text hash, near duplicates by MinHash LSH verified by
containment and coverage, one article kept per cluster. ``fingerprints`` (what is compared, and when two
are copies), ``clusters`` (plain functions over groups), ``batch`` (the Beam steps of a batch run),
``index`` and ``across_runs`` (the index beside the dataset, and a batch run's lookup in it) and
``across_time`` (a stream's dedupe against what it and earlier runs saw)."""

from transforms.dedupe.across_runs import IndexPlace, SkipIngested
from transforms.dedupe.across_time import AddToIndexAsWritten, DeduplicateAcrossTime
from transforms.dedupe.batch import DeduplicateArticles
from transforms.dedupe.fingerprints import DedupeSettings
from transforms.dedupe.index import check_banding, check_complete, has_entries, index_folder

__all__ = [
    "AddToIndexAsWritten",
    "DedupeSettings",
    "DeduplicateAcrossTime",
    "DeduplicateArticles",
    "IndexPlace",
    "SkipIngested",
    "check_banding",
    "check_complete",
    "has_entries",
    "index_folder",
]
