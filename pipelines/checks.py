"""Refusals before any work: a mistyped option, an input that matches nothing or an output that cannot take
the run ends the command with one clear line and exit status 2, and touches no dataset."""

from __future__ import annotations

import argparse
import contextlib
import difflib

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
    results = FileSystems.match(list(patterns))
    return [pattern for pattern, result in zip(patterns, results) if not result.metadata_list]


def refuse_empty_inputs(patterns: list[str]) -> None:
    missing = unmatched_inputs(patterns)
    if missing:
        raise UsageError(f"--input {missing[0]!r} matches no file (pass --allow-empty-input to run with no input anyway)")
