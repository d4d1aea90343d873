"""Each option defined once: a settings field that is also a command-line option says so in its metadata
(flag, help, how to parse a value), and ``pipelines.options`` makes the flag, its default and its help
from the field, and the settings back from the parsed flags."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any, Optional

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def option(default: Any, help: str, *, flag: Optional[str] = None, parse: Optional[Callable] = None, **argparse: Any):
    """A dataclass field that is also the option ``--<flag>`` (default: the field's name), parsed by
    ``parse`` (default: the field's type); extra keywords go to ``argparse.add_argument``."""
    return dataclasses.field(default=default, metadata={"option": {"flag": flag, "help": help, "parse": parse, **argparse}})


def option_fields(settings_type: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(settings_type) if "option" in f.metadata]


def flag_name(field: dataclasses.Field) -> str:
    """The option's name as an attribute of the parsed options (``--http-timeout`` -> ``http_timeout``)."""
    return field.metadata["option"]["flag"] or field.name


def flags(field: dataclasses.Field) -> list[str]:
    """Every spelling of the option: its short form, ``--a_b`` and ``--a-b``."""
    name = flag_name(field)
    short = field.metadata["option"].get("short")
    return ([short] if short else []) + [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])


def flag(value: str) -> bool:
    """``--flag`` alone is true; ``--flag=false`` also works, as schedulers and Flex Templates pass every
    parameter with a value."""
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


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


_SIZE_UNITS = {"": 1, "b": 1} | {
    unit + suffix: 2**power for unit, power in (("k", 10), ("m", 20), ("g", 30), ("t", 40)) for suffix in ("", "b", "ib")
}


def show_size(n: int) -> str:
    """``20971520`` -> ``20 MiB``: a byte count as help and error messages say it."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A parser of whole numbers in ``low..high``; argparse shows its refusal as the option's error."""

    def parse(value: str) -> int:
        try:
            number = int(str(value).strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    return parse


def byte_size(low: int, high: int) -> Callable[[str], int]:
    """A parser of byte counts in ``low..high``: ``1048576``, ``512k``, ``20MiB``, ``1G`` (units are powers
    of 1024). Its ``show`` says a default the same way (``--help``)."""

    def parse(value: str) -> int:
        text = str(value).strip().lower().replace(" ", "").replace("_", "")
        number = text.rstrip("kmgtib")
        try:
            size = int(float(number) * _SIZE_UNITS[text[len(number) :]])
        except (ValueError, KeyError):
            raise argparse.ArgumentTypeError(f"not a size: {value!r} (use e.g. 500000, 512KiB, 20MiB, 1GiB)") from None
        if not low <= size <= high:
            raise argparse.ArgumentTypeError(f"{value!r} is not between {show_size(low)} and {show_size(high)}")
        return size

    parse.show = show_size
    return parse
