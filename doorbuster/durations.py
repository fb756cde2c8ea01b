"""One duration grammar for every option of the suite (`--run-time`, `--ttl`, schedules, ...).

A duration is a positive number of seconds (`90`, `2.5`) or one or more `<number><unit>`
parts, largest unit first: `250ms`, `1.5s`, `10m`, `1h30m`, `2d`. Zero, negative, `nan` and
`inf` are refused: every duration bounds something, and "no bound" is never spelled `0`.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

__all__ = ["DURATION_HELP", "DurationError", "duration_arg", "format_duration", "parse_duration"]

DURATION_HELP = "a duration such as 90, 90s, 1.5s, 10m, 1h30m or 2d"

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("d", "h", "m", "s", "ms")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")


class DurationError(ValueError):
    """A duration that does not follow the grammar, or is not a positive finite time."""


def parse_duration(text: str | float | int, *, what: str = "duration") -> float:
    """`90`, `90s`, `1.5s`, `10m`, `1h30m`, `2d`, `250ms` -> seconds (a float > 0).

    `what` names the option or key in the error, e.g. "--run-time".
    """
    if isinstance(text, bool):
        raise DurationError(f"{what} {text!r}: expected {DURATION_HELP}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = text.strip().lower()
        seconds = float(raw) if re.fullmatch(r"\d+(?:\.\d+)?", raw) else _parse_parts(raw, text, what)
    if not math.isfinite(seconds):
        raise DurationError(f"{what} {text!r}: must be a finite duration, {DURATION_HELP}")
    if seconds <= 0:
        raise DurationError(f"{what} {text!r}: must be more than zero ({DURATION_HELP})")
    return seconds


def _parse_parts(raw: str, original: str, what: str) -> float:
    position, seconds, last_rank = 0, 0.0, -1
    for match in _PART.finditer(raw):
        if match.start() != position:
            break
        rank = _ORDER.index(match.group(2))
        if rank <= last_rank:
            raise DurationError(f"{what} {original!r}: units must go from largest to smallest, like 1h30m")
        last_rank = rank
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(raw):
        raise DurationError(f"{what} {original!r}: expected {DURATION_HELP}")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest spelling in the grammar (`5400` -> `1h30m`, `1.5` -> `1.5s`)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    whole = int(seconds)
    parts = []
    for unit in ("d", "h", "m"):
        count, whole = divmod(whole, int(_UNITS[unit]))
        if count:
            parts.append(f"{count}{unit}")
    rest = whole + (seconds - int(seconds))
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)


def duration_arg(option: str) -> Callable[[str], float]:
    """An argparse `type=` for a duration option, naming the option in its error."""

    def parse(text: str) -> float:
        try:
            return parse_duration(text, what=option)
        except DurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "duration"  # argparse names the type in "invalid duration value"
    return parse
