"""Activity arguments as they arrive: typed in the experiment file, or strings from `--var`.

Each helper converts one argument and raises `ActivityFailed` naming the argument and the
value at fault, so a bad experiment fails with a sentence, not a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed

__all__ = ["DEFAULT_EXPIRY_MARGIN_S", "choice", "expiry_s", "fraction", "names", "seconds", "whole"]

DEFAULT_EXPIRY_MARGIN_S = 30.0


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ActivityFailed(f"argument {name}={value!r} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ActivityFailed(f"argument {name}={value!r} must be a number") from None
    if not math.isfinite(number):
        raise ActivityFailed(f"argument {name}={value!r} must be a finite number")
    return number


def seconds(value: Any, name: str, *, minimum: float = 0.0, maximum: float = 3600.0) -> float:
    """A duration in seconds between `minimum` and `maximum`."""
    number = _number(value, name)
    if not minimum <= number <= maximum:
        raise ActivityFailed(f"argument {name}={value!r} must be between {minimum:g} and {maximum:g} seconds")
    return number


def whole(value: Any, name: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A whole number between `minimum` and `maximum`."""
    number = _number(value, name)
    if number != int(number) or not minimum <= number <= maximum:
        raise ActivityFailed(f"argument {name}={value!r} must be a whole number between {minimum} and {maximum}")
    return int(number)


def fraction(value: Any, name: str) -> float:
    """A share between 0 and 1."""
    number = _number(value, name)
    if not 0.0 <= number <= 1.0:
        raise ActivityFailed(f"argument {name}={value!r} must be a share between 0 and 1")
    return number


def choice(value: Any, name: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    text = str(value).strip().lower()
    if text not in allowed:
        raise ActivityFailed(f"argument {name}={value!r} must be one of {', '.join(allowed)}")
    return text


def names(value: Any, name: str) -> list[str]:
    """A list of names: a list, or a comma-separated string (as `--var` gives)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ActivityFailed(f"argument {name}={value!r} must be a list of names")


def expiry_s(duration_s: float, configuration: Mapping[str, Any] | None) -> float:
    """When the platform heals a fault by itself: its planned duration plus the configuration's
    `expiry_margin_s` (default 30 s), the time the rollbacks get before the dead-man switch acts."""
    raw = (configuration or {}).get("expiry_margin_s", DEFAULT_EXPIRY_MARGIN_S)
    return duration_s + seconds(raw, "configuration expiry_margin_s", minimum=0.5, maximum=3600)
