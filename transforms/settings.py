"""Each option defined once: a settings field that is also a command-line option says so in its metadata
(flag, help, how to parse a value), and ``pipelines.options`` makes the flag, its default and its help
from the field, and the settings back from the parsed flags."""

from __future__ import annotations

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


def share(value: str) -> float:
    """A share from 0 to 1: ``0.25`` or ``25%``."""
    text = value.strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"not a share: {value!r} (use e.g. 0.5 or 50%)") from None
    if not 0 <= number <= 1:
        raise ValueError(f"not a share from 0 to 1: {value!r}")
    return number
