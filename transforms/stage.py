"""What every stage shares: failures become error rows, one stream of records splits by type, and every
stage counts what came in and what went out, under its own metrics namespace.

Stages emit healthy records and ``ErrorRecord``s (or ``Duplicate``s) as plain functions return them, and
``SplitByType`` routes each to the tagged output of its type (Beam's ``with_outputs``), counting each.

Counters: namespace = the stage's name (``schema.READ`` ...), names below. The run summary reads them to
check that every stage's input equals its outputs, and names the stage where they do not.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable

import apache_beam as beam

from transforms import progress
from transforms.schema import ErrorRecord

# Counter names within a stage's namespace: what came in, and one per output (``SplitByType``'s names).
IN = "in"
DOCUMENTS, ARTICLES, DUPLICATES, ERRORS, FEEDS = "documents", "articles", "duplicates", "errors", "feeds"
SKIPPED = "skipped"  # inputs an earlier run ingested: counted, not read
SPECIAL = "special"  # matches that are no regular file (FIFOs, devices, sockets): counted, never opened
ALREADY_INGESTED = "already_ingested"  # documents read whose id an earlier run wrote: counted, not passed on
SKIPPED_PREFIX = "skipped_"  # <stage>/skipped_<kind>: inputs a stage set aside by rule (a filter, a WARC request,
# a page robots.txt disallows)
# Dedupe's work, not its records: pairs of this run's articles compared, and those found copies (their
# ratio to the articles says whether the candidate search stays linear in N).
CANDIDATE_PAIRS, VERIFIED_PAIRS = "candidate_pairs", "verified_pairs"


@dataclasses.dataclass(frozen=True)
class Skip:
    """An input a stage sets aside by rule, not by failure: counted as ``<stage>/skipped_<kind>`` and passed
    on no further (a WARC request record: ``warc_request``; an image: ``not_text``; a filtered host: ``host``; a
    feed entry whose page robots.txt disallows: ``robots``)."""

    kind: str
    source_path: str = ""


class _StageCounter:
    """A Beam counter that also feeds the live progress display (``transforms.progress``)."""

    def __init__(self, stage: str, name: str):
        self.stage, self.name = stage, name
        self.metric = beam.metrics.Metrics.counter(stage, name)

    def inc(self, n: int = 1) -> None:
        self.metric.inc(n)
        progress.tally(self.stage, self.name, n)


def counter(stage: str, name: str) -> _StageCounter:
    return _StageCounter(stage, name)


class ApplyOrRecordError(beam.DoFn):
    """Apply a stage's function to each record. One odd document must not stop a run of millions, so a
    failure becomes an ``ErrorRecord`` (stage, reason, excerpt) and the run goes on."""

    def __init__(self, fn: Callable, stage: str, *args):
        self.fn, self.stage, self.args = fn, stage, args
        self.seen = counter(stage, IN)
        self.skips = SkipCounters(stage)

    def process(self, record) -> Iterable:
        self.seen.inc()
        try:
            result = self.fn(record, *self.args)
            if isinstance(result, Skip):
                self.skips.count(result.kind)
            else:
                yield result
        except Exception as e:
            content = getattr(record, "text", None) or getattr(record, "body", "")
            reason = f"{type(e).__name__}: {e}"
            yield ErrorRecord.of(record.source_path, self.stage, reason, content, getattr(record, "feed_url", None))


class SkipCounters:
    """A stage's ``skipped_<kind>`` counters, made as kinds turn up."""

    def __init__(self, stage: str):
        self.stage, self.counters = stage, {}

    def count(self, kind: str) -> None:
        if kind not in self.counters:
            self.counters[kind] = counter(self.stage, SKIPPED_PREFIX + kind)
        self.counters[kind].inc()


class _Count(beam.DoFn):
    def __init__(self, stage: str, name: str):
        self.seen = counter(stage, name)

    def process(self, record) -> Iterable:
        self.seen.inc()
        yield record


def count_in(stage: str) -> beam.ParDo:
    """A pass-through step counting a stage's input, for stages whose first step is not ``ApplyOrRecordError``."""
    return beam.ParDo(_Count(stage, IN))


def count_as(stage: str, name: str) -> beam.ParDo:
    """A pass-through step counting what flows through it as ``stage/name``."""
    return beam.ParDo(_Count(stage, name))


class _ByType(beam.DoFn):
    def __init__(self, stage: str, types: dict[str, type]):
        self.types = types
        self.kept = {name: counter(stage, name) for name in types}

    def process(self, record) -> Iterable:
        for name, record_type in self.types.items():
            if isinstance(record, record_type):
                self.kept[name].inc()
                yield beam.pvalue.TaggedOutput(name, record)


class SplitByType(beam.PTransform):
    """One PCollection of mixed records -> a named tuple of PCollections, one per record type, each counted
    under ``stage``: ``records | SplitByType(PARSE, articles=Article, errors=ErrorRecord)`` gives
    ``.articles`` and ``.errors`` and counts ``parse/articles`` and ``parse/errors``."""

    def __init__(self, stage: str, **types: type):
        super().__init__()
        self.stage, self.types = stage, types

    def expand(self, records):
        outputs = collections.namedtuple("Outputs", list(self.types))
        split = records | "Split" >> beam.ParDo(_ByType(self.stage, self.types)).with_outputs(*self.types)
        return outputs(**{name: split[name] for name in self.types})
