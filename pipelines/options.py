"""The command's options: one ``PipelineOptions`` subclass, so every Beam option passes through unchanged.

Every option of ours is a field of a settings dataclass (``transforms.settings.option``): its flag, default,
help and parser are written there once, and ``settings(options, SettingsType)`` reads them back.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Optional

from apache_beam.options.pipeline_options import PipelineOptions

from transforms.clean import CleanSettings
from transforms.dedupe import DedupeSettings
from transforms.entities import EntitySettings
from transforms.feeds import check_feeds_file, feed_source, read_feeds_file
from transforms.fetch import HttpSettings
from transforms.filters import FilterSettings
from transforms.formats import described
from transforms.parse import HtmlOptions
from transforms.read import ReadSettings
from transforms.settings import duration, flag, flag_name, flags, option, option_fields, share, value_parser
from transforms.write.batch import ROWS_PER_FILE
from transforms.write.commit import state_folder
from transforms.write.tables import TableSettings

DEFAULT_INPUT = "seeds/*"


@dataclasses.dataclass(frozen=True)
class RunSettings:
    input: Optional[list] = option(
        None,
        f"file glob or path on any Beam filesystem (local, gs://, s3://), repeatable (default: {DEFAULT_INPUT} "
        f"when no feed is given); read: {described()}",
        action="append",
    )
    feed: Optional[list] = option(
        None, "feed URL (http/https) or local feed path; repeatable", action="append", parse=feed_source
    )
    feeds_file: Optional[str] = option(None, "file of feed URLs or paths, one a line, # comments")
    fetch_articles: bool = option(
        False,
        "download each entry's linked page and extract its full text (default: the entry's own content)",
        parse=flag,
        nargs="?",
        const=True,
    )
    state_dir: Optional[str] = option(
        None,
        "where state is kept, versioned with the dataset: DIR/_versions/<run id> (default: inside the version, OUTPUT/_state)",
    )
    allow_empty_input: bool = option(
        False, "run even when an --input glob or path matches no file (default: refuse)", parse=flag, nargs="?", const=True
    )
    output: str = option("./output", "output folder of the Parquet tables")
    write_mode: Optional[str] = option(
        None,
        "overwrite: replace the tables of an earlier run; append: add this run's files beside them "
        "(default: append when reading feeds, which remember what earlier runs wrote; else overwrite)",
        choices=["overwrite", "append"],
    )
    files_per_partition: int = option(
        1,
        "Parquet files per partition and run, at least: more spreads writing over workers; a partition past "
        f"a file's bound ({ROWS_PER_FILE['articles']:,} articles, {ROWS_PER_FILE['entities']:,} entity rows) is split further",
        minimum=1,
        maximum=1024,
    )
    max_error_rate: float = option(
        0.5,
        "batch: a run in which more than this share of the documents read end as errors is not committed (exit 1, "
        "the dataset as it was), nor one whose every document fails; 0..1 or a percentage (docs/observability.md)",
        parse=share,
        minimum=0,
        maximum=1,
    )

    def check(self) -> None:
        """The feeds file is read here, by the command, not by a parser: workers parse the options again
        and need not see the file."""
        if self.feeds_file:
            check_feeds_file(self.feeds_file)


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    poll_interval: float = option(300.0, "streaming: time between polls of every feed", parse=duration, minimum=1, maximum=86400)
    window: float = option(900.0, "streaming: output window", parse=duration, minimum=1, maximum=7 * 86400)
    allowed_lateness: float = option(
        900.0,
        "streaming: how long before its poll an entry may be published and still be windowed at its "
        "published time; the watermark trails the latest poll by this much",
        parse=duration,
        minimum=1,
        maximum=30 * 86400,
    )
    run_for: Optional[float] = option(
        None,
        "streaming: stop polling after this long, write what is pending and exit (default: run until stopped)",
        parse=duration,
        minimum=1,
        maximum=365 * 86400,
    )


@dataclasses.dataclass(frozen=True)
class ConsoleSettings:
    quiet: bool = option(False, "no progress on stderr (the summary still prints)", parse=flag, nargs="?", const=True, short="-q")
    verbose: int = option(0, "-v: our INFO logs; -vv: DEBUG, and Beam's INFO logs", action="count", short="-v")


SETTINGS = (
    RunSettings,
    ReadSettings,
    FilterSettings,
    HttpSettings,
    HtmlOptions,
    CleanSettings,
    DedupeSettings,
    StreamSettings,
    EntitySettings,
    TableSettings,
    ConsoleSettings,
)


def _value_type(hint) -> type:
    """``Optional[X]`` -> ``X``: what argparse converts a value with."""
    if typing.get_origin(hint) is typing.Union:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    return hint


def add_options(parser, settings_type: type) -> None:
    hints = typing.get_type_hints(settings_type)
    for field in option_fields(settings_type):
        spec = dict(field.metadata["option"])
        name = flag_name(field)
        for key in ("parse", "flag", "short", "minimum", "maximum"):
            spec.pop(key, None)
        if spec.get("action") == "append":  # each value on its own
            spec["type"] = value_parser(field, str)
        elif spec.get("action") != "count":
            spec["type"] = value_parser(field, _value_type(hints[field.name]))
        parser.add_argument(*flags(field), dest=name, default=field.default, **spec)


class NewsPipelineOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        for settings_type in SETTINGS:
            add_options(parser, settings_type)


def settings(options: PipelineOptions, settings_type: type):
    """A settings dataclass from the parsed options; fields that are no option keep their defaults."""
    return settings_type(**{f.name: getattr(options, flag_name(f)) for f in option_fields(settings_type)})


def checked_settings(options: PipelineOptions) -> None:
    """Each settings type's constraints between its options (its ``check()``): ``ValueError``, before any work."""
    for settings_type in SETTINGS:
        parsed = settings(options, settings_type)
        if hasattr(parsed, "check"):
            parsed.check()


def feed_sources(run: RunSettings) -> list[str]:
    return list(run.feed or []) + (read_feeds_file(run.feeds_file) if run.feeds_file else [])


def input_patterns(run: RunSettings) -> list[str]:
    """The file globs to read: the given ones, or the seeds when neither files nor feeds are given."""
    return list(run.input or ([] if feed_sources(run) else [DEFAULT_INPUT]))


def state_dir(run: RunSettings, root: str) -> str:
    """Where the run's state lives: inside its version of the dataset (``root``), or with ``--state-dir``
    in that folder's own version of the same run id, committed and dropped with the run."""
    return state_folder(root, run.state_dir)
