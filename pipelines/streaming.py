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

from pipelines.options import RunSettings, StreamSettings, feed_sources, settings, state_dir
from transforms.clean import CleanArticles, CleanSettings
from transforms.dedupe import AddToIndexAsWritten, DedupeSettings, DeduplicateAcrossTime, check_banding, index_folder
from transforms.entities import EntitySettings, TagEntities
from transforms.feeds.poll import PollFeeds, PollSchedule
from transforms.fetch import HttpSettings
from transforms.filters import FilterSettings
from transforms.parse import HtmlOptions, ParseDocuments
from transforms.write import WriteWindowedDataset


def stop_file(run: RunSettings, root: str, run_id: str) -> str:
    """Creating this file stops the job's polling; the job then writes what is pending and ends."""
    return FileSystems.join(state_dir(run, root), f"stop-{run_id}")


def schedule(run: RunSettings, stream: StreamSettings, root: str, run_id: str, start: Optional[float] = None) -> PollSchedule:
    start = time.time() if start is None else start
    return PollSchedule(
        start=start,
        interval=stream.poll_interval,
        until=start + stream.run_for if stream.run_for else None,
        lateness=stream.allowed_lateness,
        stop_file=stop_file(run, root, run_id),
    )


def build(pipeline: beam.Pipeline, options, run_id: str, root: str):
    """Add the streaming graph to ``pipeline``; returns the written file paths, one PCollection per table
    stream (a Flatten would make the FnApiRunner hold everything back until the job ends)."""
    run, stream, dedupe = settings(options, RunSettings), settings(options, StreamSettings), settings(options, DedupeSettings)
    feeds = feed_sources(run)
    if not feeds:
        raise ValueError("--streaming polls feeds: give at least one --feed or --feeds-file")
    polled = pipeline | "PollFeeds" >> PollFeeds(
        feeds,
        schedule(run, stream, root, run_id),
        settings(options, HttpSettings),
        state_dir(run, root),
        forget_after=dedupe.horizon,
    )
    filters = settings(options, FilterSettings)
    parsed = polled.documents | "Parse" >> ParseDocuments(settings(options, HtmlOptions), filters=filters)
    cleaned = parsed.articles | "Clean" >> CleanArticles(settings(options, CleanSettings), filters)
    folder = index_folder(state_dir(run, root))
    check_banding(folder, dedupe)
    deduped = cleaned.articles | "Dedupe" >> DeduplicateAcrossTime(dedupe, (folder, run_id))
    tagged = deduped.articles | "Tag" >> TagEntities(settings(options, EntitySettings), in_bundles=True)
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
        | f"{name}Windows" >> beam.WindowInto(FixedWindows(stream.window))
        | f"Write{name}" >> WriteWindowedDataset(root, run_id, state_dir(run, root))
        for name, records in streams.items()
    ] + [deduped.index | "AddToIndex" >> AddToIndexAsWritten(folder, run_id, dedupe)]
