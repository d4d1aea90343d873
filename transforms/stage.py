"""What every stage shares: failures become error rows, and one stream of records splits by type.

Stages emit healthy records and ``ErrorRecord``s (or ``Duplicate``s) on one output, and ``SplitByType``
separates them with one filter per type. Side outputs (``with_outputs``) would save that pass, but Beam
2.77's DaskRunner delivers tagged outputs into the main output; filters are correct on every runner and
cost about a microsecond per element.
"""

from __future__ import annotations

import collections
from typing import Callable, Iterable

import apache_beam as beam

from transforms.schema import ErrorRecord


class ApplyOrRecordError(beam.DoFn):
    """Apply a stage's function to each record. One odd document must not stop a run of millions, so a
    failure becomes an ``ErrorRecord`` (stage, reason, excerpt) and the run goes on."""

    def __init__(self, fn: Callable, stage: str, *args):
        self.fn, self.stage, self.args = fn, stage, args

    def process(self, record) -> Iterable:
        try:
            yield self.fn(record, *self.args)
        except Exception as e:
            content = getattr(record, "text", None) or getattr(record, "body", "")
            reason = f"{type(e).__name__}: {e}"
            yield ErrorRecord.of(record.source_path, self.stage, reason, content, getattr(record, "feed_url", None))


def _is_a(record, record_type: type) -> bool:
    return isinstance(record, record_type)


class SplitByType(beam.PTransform):
    """One PCollection of mixed records -> a named tuple of PCollections, one per record type:
    ``records | SplitByType(articles=Article, errors=ErrorRecord)`` gives ``.articles`` and ``.errors``."""

    def __init__(self, **types: type):
        super().__init__()
        self.types = types

    def expand(self, records):
        outputs = collections.namedtuple("Outputs", list(self.types))
        return outputs(
            **{name: records | f"Only{name.title()}" >> beam.Filter(_is_a, record_type) for name, record_type in self.types.items()}
        )
