"""What every stage shares: failures become error rows, one stream of records splits by type, and every
stage counts what came in and what went out, under its own metrics namespace.

Stages emit healthy records and ``ErrorRecord``s (or ``Duplicate``s) on one output, and ``SplitByType``
separates them with one filter per type, counting each. Side outputs (``with_outputs``) would save that
pass, but Beam 2.77's DaskRunner delivers tagged outputs into the main output; filters are correct on
every runner and cost about a microsecond per element.

Counters: namespace = the stage's name (``schema.READ`` ...), names below. The run summary reads them to
check that every stage's input equals its outputs, and names the stage where they do not.
"""

from __future__ import annotations

import collections
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
DISALLOWED = "disallowed"  # feed entries whose page robots.txt disallows (fetch stage): counted, not passed on


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

    def process(self, record) -> Iterable:
        self.seen.inc()
        try:
            yield self.fn(record, *self.args)
        except Exception as e:
            content = getattr(record, "text", None) or getattr(record, "body", "")
            reason = f"{type(e).__name__}: {e}"
            yield ErrorRecord.of(record.source_path, self.stage, reason, content, getattr(record, "feed_url", None))


class _CountIn(beam.DoFn):
    def __init__(self, stage: str):
        self.seen = counter(stage, IN)

    def process(self, record) -> Iterable:
        self.seen.inc()
        yield record


def count_in(stage: str) -> beam.ParDo:
    """A pass-through step counting a stage's input, for stages whose first step is not ``ApplyOrRecordError``."""
    return beam.ParDo(_CountIn(stage))


class _KeepType(beam.DoFn):
    def __init__(self, record_type: type, stage: str, name: str):
        self.record_type = record_type
        self.kept = counter(stage, name)

    def process(self, record) -> Iterable:
        if isinstance(record, self.record_type):
            self.kept.inc()
            yield record


class SplitByType(beam.PTransform):
    """One PCollection of mixed records -> a named tuple of PCollections, one per record type, each counted
    under ``stage``: ``records | SplitByType(PARSE, articles=Article, errors=ErrorRecord)`` gives
    ``.articles`` and ``.errors`` and counts ``parse/articles`` and ``parse/errors``."""

    def __init__(self, stage: str, **types: type):
        super().__init__()
        self.stage, self.types = stage, types

    def expand(self, records):
        outputs = collections.namedtuple("Outputs", list(self.types))
        return outputs(
            **{
                name: records | f"Only{name.title()}" >> beam.ParDo(_KeepType(record_type, self.stage, name))
                for name, record_type in self.types.items()
            }
        )
