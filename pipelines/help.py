"""``python -m pipelines.run --help``: every option of ours with its default, generated from the settings
dataclasses (so a new option is listed the day it is declared), usage examples, and Beam's options in
brief with a pointer."""

from __future__ import annotations

import dataclasses
import textwrap

from pipelines.options import SETTINGS
from transforms.settings import allowed_range, byte_size, duration, duration_text, flags, option_fields, show_size

USAGE = "usage: python -m pipelines.run [--input GLOB ...] [--feed URL ...] [--output DIR] [options] [Beam options]"
EXAMPLES = """\
examples:
  python -m pipelines.run                                     the five seed articles into ./output
  python -m pipelines.run --input 'data/*.jsonl.gz' --output out -q
  python -m pipelines.run --feed https://example.org/rss.xml --fetch-articles
  python -m pipelines.run --input 'big/*' --direct_num_workers=2 --direct_running_mode=multi_processing
  python -m pipelines.run --streaming --feed URL --poll-interval 5m --run-for 2h
  python -m pipelines.report output                           an HTML report of what a run produced"""
BEAM = """\
Beam options: every Beam option passes through, e.g. --runner (default DirectRunner, run offline on
  the in-process FnApiRunner), --streaming (off), --direct_num_workers (1), --direct_running_mode
  (in_memory | multi_threading | multi_processing), --job_endpoint, --environment_type, --flink_master.
  All of them: https://beam.apache.org/releases/pydoc/current/apache_beam.options.pipeline_options.html;
  which runners work here and how: docs/runners.md."""


def default_text(field: dataclasses.Field) -> str:
    spec, value = field.metadata["option"], field.default
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if spec.get("parse") is duration:
        return duration_text(value)
    if spec.get("parse") is byte_size:
        return show_size(value)
    return str(value)


def _title(settings_type: type) -> str:
    doc = (settings_type.__doc__ or "").strip()
    generated = doc.startswith(settings_type.__name__ + "(")  # a dataclass's generated docstring
    return (doc.splitlines()[0] if doc and not generated else settings_type.__name__.removesuffix("Settings")).rstrip(".")


def option_lines(width: int = 110) -> list[str]:
    lines = []
    for settings_type in SETTINGS:
        lines += ["", f"{_title(settings_type)}:"]
        for field in option_fields(settings_type):
            head = f"  {', '.join(flags(field))}"
            text = field.metadata["option"]["help"]
            allowed = allowed_range(field)
            if "(default:" not in text:  # the help says it in words where the default depends on others
                text += f" (default: {default_text(field)}{f'; allowed: {allowed}' if allowed else ''})"
            elif allowed:
                text += f" (allowed: {allowed})"
            lines.append(head)
            lines += textwrap.wrap(text, width, initial_indent="      ", subsequent_indent="      ")
    return lines


def help_text() -> str:
    return "\n".join([USAGE, "", EXAMPLES, *option_lines(), "", BEAM])
