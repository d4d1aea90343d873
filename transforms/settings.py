"""Each option defined once: a settings field that is also a command-line option says so in its metadata
(flag, help, how to parse a value, the range a value must fall in), and ``pipelines.options`` makes the
flag, its default and its help from the field, and the settings back from the parsed flags.

A value is checked by the option's own parser while the command line is read, before any work: a value
out of range is refused with one line naming the option and its range (``value_parser``). A constraint
between options of one settings type is its ``check()`` method (``ValueError``), run on the parsed
settings before any work too (``pipelines.options.checked_settings``)."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable
from typing import Any, Optional

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def option(
    default: Any,
    help: str,
    *,
    flag: Optional[str] = None,
    parse: Optional[Callable] = None,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    **argparse: Any,
):
    """A dataclass field that is also the option ``--<flag>`` (default: the field's name), parsed by
    ``parse`` (default: the field's type); ``minimum`` and ``maximum`` bound a number (inclusive; seconds
    for a ``duration``); extra keywords go to ``argparse.add_argument``."""
    spec = {"flag": flag, "help": help, "parse": parse, "minimum": minimum, "maximum": maximum, **argparse}
    return dataclasses.field(default=default, metadata={"option": spec})


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


def allowed_range(field: dataclasses.Field) -> Optional[str]:
    """The option's range in words (``1 to 16``, ``at least 0``, ``1s to 1d``), or None when it has none."""
    spec = field.metadata["option"]
    low, high, show = spec.get("minimum"), spec.get("maximum"), shown(field)
    if low is not None and high is not None:
        return f"{show(low)} to {show(high)}"
    if low is not None:
        return f"at least {show(low)}"
    return None if high is None else f"at most {show(high)}"


def in_range(field: dataclasses.Field, value: Any) -> bool:
    spec = field.metadata["option"]
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is None and high is None:
        return True
    return not math.isnan(value) and (low is None or value >= low) and (high is None or value <= high)


def value_parser(field: dataclasses.Field, value_type: Callable) -> Callable[[str], Any]:
    """What argparse converts the option's value with: its ``parse`` (or type), then its range. A value
    refused says why and the range, on one line: ``argument --shingle_size: 0 is out of range (allowed:
    1 to 16)``, ``argument --window: not a positive duration: '0' (allowed: 1s to 1d)``."""
    parse = field.metadata["option"].get("parse") or value_type

    def parse_value(text: str) -> Any:
        allowed = allowed_range(field)
        suffix = f" (allowed: {allowed})" if allowed else ""
        try:
            value = parse(text)
        except (TypeError, ValueError) as e:
            plain = parse in (int, float, str)  # their messages name Python, not the option
            reason = f"invalid {parse.__name__} value: {text!r}" if plain else str(e)
            raise argparse.ArgumentTypeError(reason + suffix) from None
        if not in_range(field, value):
            raise argparse.ArgumentTypeError(f"{text} is out of range{suffix}")
        return value

    return parse_value


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
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"not a positive duration: {value!r}")
    return seconds


def duration_text(seconds: float) -> str:
    """``86400`` -> ``1d``, ``90`` -> ``90s``: the largest unit that divides it."""
    unit = next((u for u in ("d", "h", "m") if seconds >= _UNITS[u] and seconds % _UNITS[u] == 0), "s")
    return f"{seconds / _UNITS[unit]:g}{unit}"


_SIZE_UNITS = {"": 1, "b": 1} | {
    unit + suffix: 2**power for unit, power in (("k", 10), ("m", 20), ("g", 30), ("t", 40)) for suffix in ("", "b", "ib")
}


def byte_size(value: str) -> int:
    """A byte count from ``1048576``, ``512k``, ``20MiB`` or ``1G`` (units are powers of 1024)."""
    text = str(value).strip().lower().replace(" ", "").replace("_", "")
    number = text.rstrip("kmgtib")
    try:
        return int(float(number) * _SIZE_UNITS[text[len(number) :]])
    except (ValueError, KeyError):
        raise ValueError(f"not a size: {value!r} (use e.g. 500000, 512KiB, 20MiB, 1GiB)") from None


def show_size(n: int) -> str:
    """``20971520`` -> ``20 MiB``: a byte count as help and error messages say it."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def shown(field: dataclasses.Field) -> Callable[[Any], str]:
    """How the option's values are said in help and errors: ``7d``, ``20 MiB``, ``16``."""
    parse = field.metadata["option"].get("parse")
    if parse is duration:
        return duration_text
    if parse is byte_size:
        return show_size
    return lambda v: str(v) if isinstance(v, int) else f"{v:g}"


def share(value: str) -> float:
    """A share from ``0.25`` or ``25%``."""
    text = value.strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"not a share: {value!r} (use e.g. 0.5 or 50%)") from None
