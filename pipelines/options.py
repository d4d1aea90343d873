"""The command's options: one ``PipelineOptions`` subclass, so every Beam option passes through unchanged."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from transforms.dedupe import DedupeSettings
from transforms.entities import EntitySettings

DEFAULT_INPUT = "seeds/*"
DEFAULT_OUTPUT = "./output"


class NewsPipelineOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        dedupe, entities = DedupeSettings(), EntitySettings()
        parser.add_argument(
            "--input",
            action="append",
            help=f"file glob of .txt, .html, .htm, .jsonl or their .gz; repeatable (default: {DEFAULT_INPUT})",
        )
        parser.add_argument("--output", default=DEFAULT_OUTPUT, help="output folder of the Parquet tables")
        parser.add_argument(
            "--write_mode",
            "--write-mode",
            choices=["overwrite", "append"],
            default="overwrite",
            help="overwrite: replace the tables of an earlier run; append: add this run's files beside them",
        )
        parser.add_argument("--files_per_partition", "--files-per-partition", type=int, default=1)
        parser.add_argument("--shingle_size", "--shingle-size", type=int, default=dedupe.shingle_size)
        parser.add_argument("--lsh_bands", "--lsh-bands", type=int, default=dedupe.bands)
        parser.add_argument("--lsh_rows", "--lsh-rows", type=int, default=dedupe.rows)
        parser.add_argument(
            "--similarity_threshold", "--similarity-threshold", type=float, default=dedupe.threshold,
            help="estimated Jaccard similarity of word shingles at which two articles are near duplicates",
        )
        parser.add_argument("--spacy_model", "--spacy-model", default=entities.model)
        parser.add_argument("--ner_batch_size", "--ner-batch-size", type=int, default=entities.batch_size)
        parser.add_argument("--ner_shards", "--ner-shards", type=int, default=entities.shards)
