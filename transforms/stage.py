"""What every stage shares: the ``errors`` side output, and a DoFn that turns a failure into an error row."""

from __future__ import annotations

from typing import Callable, Iterable

import apache_beam as beam

from transforms.schema import ErrorRecord

ERRORS = "errors"


class ApplyOrRecordError(beam.DoFn):
    """Apply a stage's function to each record. One odd document must not stop a run of millions, so a
    failure becomes an ``ErrorRecord`` (stage, reason, excerpt) on the ``errors`` output and the run goes on."""

    def __init__(self, fn: Callable, stage: str, *args):
        self.fn, self.stage, self.args = fn, stage, args

    def process(self, record) -> Iterable:
        try:
            yield self.fn(record, *self.args)
        except Exception as e:
            content = getattr(record, "text", None) or getattr(record, "body", "")
            reason = f"{type(e).__name__}: {e}"
            error = ErrorRecord.of(record.source_path, self.stage, reason, content, getattr(record, "feed_url", None))
            yield beam.pvalue.TaggedOutput(ERRORS, error)
