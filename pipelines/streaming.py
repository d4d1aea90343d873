"""The streaming graph: PollFeeds -> Parse -> Clean -> DeduplicateAcrossTime -> Tag -> Window -> Write.

The same parse, clean and tag stages as batch; what a stream needs instead is its source (polls on a
schedule), dedupe against the past rather than within a finished corpus, and a writer that writes as
bundles complete. No step waits on a GroupByKey or a Flatten: Beam's local FnApiRunner runs their
consumers only when a streaming job ends (tests/test_beam_defects.py), so a graph built on them would
write nothing while it runs.
"""

from __future__ import annotations

import time
from typing import Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import FixedWindows

from pipelines.options import NewsPipelineOptions, dedupe_settings, entity_settings, feed_sources, http_settings, state_dir
from transforms.clean import CleanArticles
from transforms.dedupe import DeduplicateAcrossTime
from transforms.entities import TagEntities
from transforms.parse import ParseDocuments
from transforms.poll import PollFeeds, PollSchedule
from transforms.write import WriteWindowedDataset


def stop_file(options: NewsPipelineOptions, run_id: str) -> str:
    """Creating this file stops the job's polling; the job then writes what is pending and ends."""
    return FileSystems.join(state_dir(options), f"stop-{run_id}")


def schedule(options: NewsPipelineOptions, run_id: str, start: Optional[float] = None) -> PollSchedule:
    start = time.time() if start is None else start
    return PollSchedule(
        start=start,
        interval=options.poll_interval,
        until=start + options.run_for if options.run_for else None,
        lateness=options.allowed_lateness,
        stop_file=stop_file(options, run_id),
    )


def build(pipeline: beam.Pipeline, options: NewsPipelineOptions, run_id: str):
    """Add the streaming graph to ``pipeline``; returns the written file paths, one PCollection per table
    stream (a Flatten would make the FnApiRunner hold everything back until the job ends)."""
    feeds = feed_sources(options)
    if not feeds:
        raise ValueError("--streaming polls feeds: give at least one --feed or --feeds-file")
    polled = pipeline | "PollFeeds" >> PollFeeds(
        feeds, schedule(options, run_id), http_settings(options), state_dir(options), forget_after=options.dedupe_horizon
    )
    parsed = polled.documents | "Parse" >> ParseDocuments()
    cleaned = parsed.articles | "Clean" >> CleanArticles()
    deduped = cleaned.articles | "Dedupe" >> DeduplicateAcrossTime(dedupe_settings(options), options.dedupe_horizon)
    tagged = deduped.articles | "Tag" >> TagEntities(entity_settings(options), in_bundles=True)
    streams = {
        "Articles": tagged.articles,
        "Duplicates": deduped.duplicates,
        "Feeds": polled.feeds,
        "FeedErrors": polled.errors,
        "ParseErrors": parsed.errors,
        "CleanErrors": cleaned.errors,
        "TagErrors": tagged.errors,
    }
    return [
        records
        | f"{name}Windows" >> beam.WindowInto(FixedWindows(options.window))
        | f"Write{name}" >> WriteWindowedDataset(options.output, run_id, state_dir(options))
        for name, records in streams.items()
    ]
