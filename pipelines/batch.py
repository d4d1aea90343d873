"""The batch graph: Read -> Parse -> Clean -> Dedupe -> Tag -> Write. Only wiring lives here."""

from __future__ import annotations

import apache_beam as beam

from pipelines.options import DEFAULT_INPUT, NewsPipelineOptions
from transforms.clean import CleanArticles
from transforms.dedupe import DedupeSettings, DeduplicateArticles
from transforms.entities import EntitySettings, TagEntities
from transforms.parse import ParseDocuments
from transforms.read import ReadDocuments
from transforms.write import WriteDataset


def build(pipeline: beam.Pipeline, options: NewsPipelineOptions, run_id: str):
    """Add the batch graph to ``pipeline``; returns the PCollection of written file paths."""
    dedupe = DedupeSettings(
        shingle_size=options.shingle_size,
        bands=options.lsh_bands,
        rows=options.lsh_rows,
        threshold=options.similarity_threshold,
    )
    entities = EntitySettings(model=options.spacy_model, batch_size=options.ner_batch_size, shards=options.ner_shards)

    read = pipeline | "Read" >> ReadDocuments(options.input or [DEFAULT_INPUT])
    parsed = read.documents | "Parse" >> ParseDocuments()
    cleaned = parsed.articles | "Clean" >> CleanArticles()
    deduped = cleaned.articles | "Dedupe" >> DeduplicateArticles(dedupe)
    tagged = deduped.articles | "Tag" >> TagEntities(entities)
    errors = (read.errors, parsed.errors, cleaned.errors, tagged.errors) | "AllErrors" >> beam.Flatten()
    return {
        "articles": tagged.articles,
        "duplicates": deduped.duplicates,
        "errors": errors,
    } | "Write" >> WriteDataset(options.output, run_id, options.files_per_partition)
