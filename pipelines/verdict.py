"""Whether a batch run that balanced may be committed. A run whose documents (nearly) all failed is a failed
run: a folder given as a glob, a feed path mistyped, the network or a host down, a broken upgrade. Committed,
it would replace a good dataset with an empty one (overwrite) or bury it under error rows (append); abandoned,
the dataset stays as it was and the exit status says so.

The share of errors is over the documents read plus the inputs counted as skipped (files and feed entries
ingested by an earlier run, feeds unchanged since): an hourly feed run in which one feed is down and the
others have nothing new has not failed. Streaming runs are not judged: a stream's files appear as they are
written. An overwrite run that read nothing (its inputs matched only folders or special files) would replace
the dataset with an empty one: it is not committed either, unless ``--allow-empty-input`` asks for that.
"""

from __future__ import annotations

from typing import Optional

from pipelines.stats import ErrorReasons
from pipelines.summary import Totals, documents_read
from transforms.feeds import FEEDS_NAMESPACE
from transforms.schema import READ, WRITE
from transforms.stage import SKIPPED, SPECIAL

SKIP_COUNTERS = ((READ, SKIPPED), (FEEDS_NAMESPACE, "entries_already_seen"), (FEEDS_NAMESPACE, "not_modified"))


def refusal(t: Totals, reasons: ErrorReasons, max_error_rate: float, empty_overwrite: bool) -> Optional[str]:
    """Why the run must not be committed, in words, or None when it may be; ``empty_overwrite``: the run
    would replace the dataset and was not told that an empty input is fine."""
    if empty_overwrite and not documents_read(t):
        special = t.get((READ, SPECIAL), 0)
        matched = f" ({special} matches were no regular file)" if special else ""
        return f"no document read{matched}: an overwrite would empty the dataset (--allow-empty-input to do that)"
    return too_many_errors(t, reasons, max_error_rate)


def too_many_errors(t: Totals, reasons: ErrorReasons, max_error_rate: float) -> Optional[str]:
    read, errors = documents_read(t), t.get((WRITE, "errors"), 0)
    outcomes = read + sum(t.get(key, 0) for key in SKIP_COUNTERS)
    if not errors or not outcomes:
        return None
    common = reasons.most_common()
    example = f"{common[0]}: {common[2]}" if common else "see the errors table"
    if errors == outcomes:
        return f"all {errors} documents read ended as errors ({example})"
    if errors / outcomes > max_error_rate:
        skipped = f" (and {outcomes - read} skipped as seen)" if outcomes > read else ""
        return (
            f"{errors} of {read} documents read{skipped} ended as errors ({errors / outcomes:.0%}, more than "
            f"--max-error-rate {max_error_rate:g}; {example})"
        )
    return None
