"""The command's options: one ``PipelineOptions`` subclass, so every Beam option passes through unchanged."""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.dedupe import DedupeSettings
from transforms.entities import EntitySettings
from transforms.feeds import read_feeds_file
from transforms.fetch import HttpSettings

DEFAULT_INPUT = "seeds/*"


def flag(value: str) -> bool:
    """``--flag`` alone is true; ``--flag=false`` also works, as schedulers and Flex Templates pass every
    parameter with a value."""
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")
DEFAULT_OUTPUT = "./output"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(value: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``2h`` or ``7d``."""
    text = value.strip().lower()
    try:
        seconds = float(text[:-1]) * _UNITS[text[-1]] if text[-1:] in _UNITS else float(text)
    except ValueError:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 15m, 2h, 7d)") from None
    if seconds <= 0:
        raise ValueError(f"not a positive duration: {value!r}")
    return seconds



class NewsPipelineOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        dedupe, entities, http = DedupeSettings(), EntitySettings(), HttpSettings()
        parser.add_argument(
            "--input",
            action="append",
            help=f"file glob of .txt, .html, .htm, .jsonl, .rss/.atom/.xml/.rdf feeds or their .gz; repeatable "
            f"(default: {DEFAULT_INPUT} when no feed is given)",
        )
        parser.add_argument("--feed", action="append", help="feed URL (http/https) or local feed path; repeatable")
        parser.add_argument("--feeds_file", "--feeds-file", help="file of feed URLs or paths, one a line, # comments")
        parser.add_argument(
            "--fetch_articles", "--fetch-articles", type=flag, nargs="?", const=True, default=False,
            help="download each entry's linked page and extract its full text (default: the entry's own content)",
        )
        parser.add_argument("--state_dir", "--state-dir", help="where feed state is kept (default: OUTPUT/_state)")
        parser.add_argument(
            "--allow_private_hosts", "--allow-private-hosts", type=flag, nargs="?", const=True, default=False,
            help="allow fetching from private, loopback and link-local addresses",
        )
        parser.add_argument("--http_timeout", "--http-timeout", type=float, default=http.timeout)
        parser.add_argument("--http_retries", "--http-retries", type=int, default=http.retries)
        parser.add_argument("--http_backoff", "--http-backoff", type=float, default=http.backoff)
        parser.add_argument("--max_redirects", "--max-redirects", type=int, default=http.max_redirects)
        parser.add_argument("--max_response_bytes", "--max-response-bytes", type=int, default=http.max_bytes)
        parser.add_argument("--host_concurrency", "--host-concurrency", type=int, default=http.host_concurrency)
        parser.add_argument("--host_delay", "--host-delay", type=float, default=http.host_delay)
        parser.add_argument("--output", default=DEFAULT_OUTPUT, help="output folder of the Parquet tables")
        parser.add_argument(
            "--write_mode",
            "--write-mode",
            choices=["overwrite", "append"],
            help="overwrite: replace the tables of an earlier run; append: add this run's files beside them "
            "(default: append when reading feeds, which remember what earlier runs wrote; else overwrite)",
        )
        parser.add_argument("--files_per_partition", "--files-per-partition", type=int, default=1)
        parser.add_argument("--shingle_size", "--shingle-size", type=int, default=dedupe.shingle_size)
        parser.add_argument("--lsh_bands", "--lsh-bands", type=int, default=dedupe.bands)
        parser.add_argument("--lsh_rows", "--lsh-rows", type=int, default=dedupe.rows)
        parser.add_argument(
            "--similarity_threshold", "--similarity-threshold", type=float, default=dedupe.threshold,
            help="estimated Jaccard similarity of word shingles at which two articles are near duplicates",
        )
        parser.add_argument("--poll_interval", "--poll-interval", type=duration, default=300.0,
                            help="streaming: time between polls of every feed (default 300s)")
        parser.add_argument("--window", type=duration, default=900.0, help="streaming: output window (default 15m)")
        parser.add_argument("--allowed_lateness", "--allowed-lateness", type=duration, default=900.0,
                            help="streaming: how long before its poll an entry may be published and still be windowed "
                            "at its published time; the watermark trails the latest poll by this much (default 15m)")
        parser.add_argument("--dedupe_horizon", "--dedupe-horizon", type=duration, default=7 * 86400.0,
                            help="streaming: how far back in event time duplicates are looked for (default 7d)")
        parser.add_argument("--run_for", "--run-for", type=duration,
                            help="streaming: stop polling after this long, write what is pending and exit (default: run until stopped)")
        parser.add_argument("--spacy_model", "--spacy-model", default=entities.model)
        parser.add_argument("--ner_batch_size", "--ner-batch-size", type=int, default=entities.batch_size)
        parser.add_argument("--ner_shards", "--ner-shards", type=int, default=entities.shards)


# ------------------------------------------------------------------------ options -> stage settings


def feed_sources(options: NewsPipelineOptions) -> list[str]:
    return list(options.feed or []) + (read_feeds_file(options.feeds_file) if options.feeds_file else [])


def state_dir(options: NewsPipelineOptions) -> str:
    return options.state_dir or FileSystems.join(options.output, "_state")


def http_settings(options: NewsPipelineOptions) -> HttpSettings:
    return HttpSettings(
        timeout=options.http_timeout,
        retries=options.http_retries,
        backoff=options.http_backoff,
        max_redirects=options.max_redirects,
        max_bytes=options.max_response_bytes,
        allow_private_hosts=options.allow_private_hosts,
        host_concurrency=options.host_concurrency,
        host_delay=options.host_delay,
    )


def dedupe_settings(options: NewsPipelineOptions) -> DedupeSettings:
    return DedupeSettings(
        shingle_size=options.shingle_size,
        bands=options.lsh_bands,
        rows=options.lsh_rows,
        threshold=options.similarity_threshold,
    )


def entity_settings(options: NewsPipelineOptions) -> EntitySettings:
    return EntitySettings(model=options.spacy_model, batch_size=options.ner_batch_size, shards=options.ner_shards)
