"""Refusals before any work: a mistyped option, an unknown runner, a runner or storage scheme whose extra is
not installed, an input that matches nothing or is a folder, or an output that cannot take the run ends
the command with one clear line and exit status 2, and touches no dataset (nor creates the output folder)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import importlib.metadata
import os

from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.options.pipeline_options import _BeamArgumentParser as BeamArgumentParser


class UsageError(Exception):
    """What the user asked for cannot be run; the message says why and how to fix it."""


def _register_runner_options(argv: list[str]) -> None:
    """A runner defines its own options when its module is imported (``--dask_client_address``...)."""
    from apache_beam.runners import runner

    name = PipelineOptions(argv).view_as(StandardOptions).runner
    if name:
        with contextlib.suppress(Exception):  # an unknown runner is Beam's to report, with its own message
            runner.create_runner(name)


def _parser() -> BeamArgumentParser:
    """Every option Beam knows, ours included, as Beam itself assembles them."""
    parser = BeamArgumentParser(allow_abbrev=False, exit_on_error=False)
    for options_type in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        options_type._add_argparse_args(parser)
    return parser


def unknown_arguments(argv: list[str]) -> list[str]:
    """The arguments no option of ours or Beam's (or the chosen runner's) takes; ``UsageError`` for a value
    an option refuses."""
    _register_runner_options(argv)
    try:
        _, unknown = _parser().parse_known_args(argv)
    except argparse.ArgumentError as e:
        raise UsageError(str(e)) from None
    return unknown


def refuse_unknown_arguments(argv: list[str]) -> None:
    unknown = unknown_arguments(argv)
    if not unknown:
        return
    first = unknown[0]
    if not first.startswith("-"):
        raise UsageError(f"unexpected argument {first!r}: an unquoted glob? quote it, e.g. --input 'seeds/*'")
    known = [flag for action in _parser()._actions for flag in action.option_strings]
    close = difflib.get_close_matches(first.split("=", 1)[0], known, n=1)
    hint = f"; did you mean {close[0]}?" if close else "; see --help"
    raise UsageError(f"unknown option {first.split('=', 1)[0]}{hint}")


def unmatched_inputs(patterns: list[str]) -> list[str]:
    """The input globs or paths that match no file."""
    try:
        results = FileSystems.match(list(patterns))
    except (ValueError, BeamIOError) as e:  # a scheme no filesystem takes, a store that cannot be listed
        raise UsageError(f"--input cannot be listed: {str(e).splitlines()[0]}") from None
    return [pattern for pattern, result in zip(patterns, results) if not result.metadata_list]


def refuse_empty_inputs(patterns: list[str]) -> None:
    missing = unmatched_inputs(patterns)
    if missing:
        raise UsageError(f"--input {missing[0]!r} matches no file (pass --allow-empty-input to run with no input anyway)")


def refuse_folder_inputs(patterns: list[str]) -> None:
    """A local folder named as an input is read as one file, and fails as one error: ask for its files."""
    for pattern in patterns:
        path = pattern[len("file://") :] if pattern.startswith("file://") else pattern
        if "://" not in path and os.path.isdir(path):
            raise UsageError(f"--input {pattern!r} is a folder: read its files with --input '{pattern.rstrip('/')}/*'")


PACKAGE = "news-ingest"
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
# A storage scheme -> (Beam's module, its flag saying the client library imported, the extra that installs it).
SCHEME_EXTRAS = {
    "gs": ("apache_beam.io.gcp.gcsio", "GCS_INSTALLED", "gcp"),
    "s3": ("apache_beam.io.aws.s3io", "BOTO3_INSTALLED", "aws"),
}
# A runner, by a word of its name -> (a module it cannot run without, the extra that installs it).
RUNNER_EXTRAS = {
    "dataflow": ("apache_beam.runners.dataflow.internal.apiclient", "gcp"),
    "dask": ("dask", "dask"),
}


def _install(extra: str) -> str:
    """How to install what the project's ``extra`` adds, as pyproject.toml declares it (the project is
    published on no index, so its own name cannot be installed)."""
    try:
        declared = importlib.metadata.requires(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    specs = [r.split(";")[0].strip() for r in declared if r.replace(" ", "").endswith(f'extra=="{extra}"')]
    return f"pip install {' '.join(repr(s) for s in specs or [f'apache-beam[{extra}]'])} (the {extra} extra of {PACKAGE})"


def _scheme_installed(module: str, flag: str) -> bool:
    """Beam's own record of whether the scheme's client imported (true where a Beam release drops the flag:
    the check must never refuse what would run)."""
    try:
        return bool(getattr(importlib.import_module(module), flag, True))
    except ImportError:
        return False


def refuse_missing_extras(paths: list[str]) -> None:
    """A path on object storage whose client library is not installed: name the extra, before any work."""
    for path in paths:
        scheme = path.split("://", 1)[0].lower() if "://" in path else ""
        if scheme in SCHEME_EXTRAS:
            module, flag, extra = SCHEME_EXTRAS[scheme]
            if not _scheme_installed(module, flag):
                raise UsageError(f"{path} needs the {extra} extra, not installed here: {_install(extra)}")


# A table format -> (a module it cannot publish without, the extra that installs it).
FORMAT_EXTRAS = {"delta": ("deltalake", "delta"), "iceberg": ("pyiceberg.catalog.sql", "iceberg")}


def refuse_missing_format_extra(table_format: str) -> None:
    """``--table-format delta|iceberg`` without its library: said before any work, not at the commit."""
    if table_format in FORMAT_EXTRAS:
        module, extra = FORMAT_EXTRAS[table_format]
        try:
            importlib.import_module(module)
        except ImportError:
            raise UsageError(
                f"--table-format {table_format} needs the {extra} extra, not installed here: {_install(extra)}"
            ) from None


def _runner_spellings() -> dict[str, str]:
    """Every runner name Beam takes, lowercased -> how to write it; the DaskRunner only by its full path."""
    names = {name.lower(): name for name in StandardOptions.KNOWN_RUNNER_NAMES}
    return names | {"daskrunner": DASK_RUNNER, DASK_RUNNER.lower(): DASK_RUNNER}


def refuse_unusable_runner(name: str | None) -> None:
    """An unknown runner (with the closest Beam knows), or one whose extra is missing: said before any work."""
    if not name:
        return
    from apache_beam.runners import runner

    for word, (module, extra) in RUNNER_EXTRAS.items():
        if word in name.lower():
            try:
                importlib.import_module(module)
            except ImportError:
                raise UsageError(f"--runner {name} needs the {extra} extra, not installed here: {_install(extra)}") from None
    try:
        runner.create_runner(name)
        return
    except ImportError as e:  # a dotted name whose module does not import
        if e.name and not name.startswith(e.name):
            raise UsageError(f"--runner {name} cannot start: {e}") from None
    except (ValueError, AttributeError):
        pass
    spellings = _runner_spellings()
    last = name.rsplit(".", 1)[-1].lower()
    close = difflib.get_close_matches(last, spellings, n=1) or difflib.get_close_matches(name.lower(), spellings, n=1)
    hint = f"; did you mean {spellings[close[0]]}?" if close else f"; one of {', '.join(StandardOptions.KNOWN_RUNNER_NAMES)}"
    raise UsageError(f"unknown runner {name!r}{hint}")


def requested_runner(argv: list[str]) -> str | None:
    return PipelineOptions(argv).view_as(StandardOptions).runner
