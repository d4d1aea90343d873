"""The batch graph: Read (files, feeds) -> Parse -> Clean -> Dedupe -> Tag -> Write. Only wiring lives here."""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.options import RunSettings, feed_sources, input_patterns, settings, state_dir
from transforms.clean import CleanArticles, CleanSettings
from transforms.dedupe import (
    DedupeSettings,
    DeduplicateArticles,
    IndexPlace,
    SkipIngested,
    check_banding,
    check_complete,
    has_entries,
    index_folder,
)
from transforms.entities import EntitySettings, TagEntities, VoteLabelsAcrossRun
from transforms.feeds import ReadFeeds, RememberFeedState
from transforms.fetch import HttpSettings
from transforms.filters import FilterSettings
from transforms.parcels import parcel_folder
from transforms.parse import HtmlOptions, ParseDocuments
from transforms.read import FILES_FOLDER, ReadDocuments, ReadSettings, RememberFiles
from transforms.write import WriteDataset


def build(pipeline: beam.Pipeline, options, run_id: str, root: str):
    """Add the batch graph to ``pipeline``, writing the tables and state under ``root`` (the run's version
    of the dataset)."""
    run = settings(options, RunSettings)
    feeds = feed_sources(run)
    patterns = input_patterns(run)
    filters = settings(options, FilterSettings)

    sources, source_errors, tables = [], [], {}
    if patterns:
        files_dir = FileSystems.join(state_dir(run, root), FILES_FOLDER)
        files = pipeline | "ReadFiles" >> ReadDocuments(
            patterns, files_dir, settings(options, ReadSettings), filters, parcel_folder(root, "read")
        )
        sources.append(files.documents)
        source_errors.append(files.errors)
        _ = files.files | "RememberFiles" >> RememberFiles(files_dir)
    if feeds:
        read_feeds = pipeline | "ReadFeeds" >> ReadFeeds(
            feeds, settings(options, HttpSettings), state_dir(run, root), run.fetch_articles
        )
        sources.append(read_feeds.documents)
        source_errors.append(read_feeds.errors)
        tables["feeds"] = read_feeds.feeds

    folder, dedupe = index_folder(state_dir(run, root)), settings(options, DedupeSettings)
    check_banding(folder, dedupe)
    check_complete(folder, root, run.output)
    index = IndexPlace(folder, run_id, dt.datetime.now(dt.UTC), look_up=has_entries(folder))
    documents = sources | "AllSources" >> beam.Flatten()
    if index.look_up:
        documents = documents | "AlreadyIngested" >> SkipIngested(index, parcel_folder(root, "known"))
    parsed = documents | "Parse" >> ParseDocuments(settings(options, HtmlOptions), filters=filters)
    cleaned = parsed.articles | "Clean" >> CleanArticles(settings(options, CleanSettings), filters)
    deduped = cleaned.articles | "Dedupe" >> DeduplicateArticles(dedupe, parcel_folder(root, "dedupe"), index)
    tagged = deduped.articles | "Tag" >> TagEntities(settings(options, EntitySettings))
    articles = tagged.articles | "OneLabelPerName" >> VoteLabelsAcrossRun(parcel_folder(root, "labels"))
    errors = (*source_errors, parsed.errors, cleaned.errors, tagged.errors) | "AllErrors" >> beam.Flatten()
    tables.update(articles=articles, duplicates=deduped.duplicates, errors=errors)
    written = tables | "Write" >> WriteDataset(root, run_id, run.files_per_partition)

    if feeds:
        ingested = (articles, deduped.duplicates) | "Ingested" >> beam.Flatten()
        _ = {"written": written, "polls": read_feeds.polls, "ingested": ingested} | "RememberFeeds" >> (
            RememberFeedState(state_dir(run, root))
        )
