"""Numbers as a stakeholder reads them, the same way everywhere (banner, tables, JUnit, charts).

One rule per unit: durations in ms below a second and in s above ("250 ms", "8.0 s"), ratios as
percentages with the digits that matter ("0.15%", "2.4%", "99.95%"), counts with thousands
separators, margins and changes with an explicit sign.
"""

from __future__ import annotations

import math

__all__ = ["RATIO_METRICS", "fmt_count", "fmt_margin", "fmt_ms", "fmt_pct", "fmt_seconds", "fmt_value"]

RATIO_METRICS = ("error_rate", "availability", "achieved_ratio")
MINUS = "−"  # a real minus sign: a hyphen reads as a dash in a table


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_ms(value: float, *, signed: bool = False) -> str:
    """Milliseconds: "4.2 ms", "250 ms" below a second; "2.0 s", "3 s" from one second up."""
    sign = (MINUS if value < 0 else "+") if signed and value != 0 else (MINUS if value < 0 else "")
    v = abs(value)
    if v >= 1000:
        return f"{sign}{fmt_seconds(v / 1000)}"
    if v >= 10:
        return f"{sign}{v:,.0f} ms"
    return f"{sign}{_trim(f'{v:.2f}')} ms"


def fmt_seconds(value: float) -> str:
    """Seconds: "3 s" (a whole target), "8.0 s", "42 s", "5 min 20 s" past two minutes."""
    if value >= 120:
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    if float(value).is_integer():
        return f"{value:.0f} s"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def fmt_pct(ratio: float, *, signed: bool = False, unit: str = "%") -> str:
    """A ratio as a percentage: enough digits to tell 99.95% from 100% and 0.15% from 0%."""
    sign = (MINUS if ratio < 0 else "+") if signed and ratio != 0 else (MINUS if ratio < 0 else "")
    p = abs(ratio) * 100
    if p == 0:
        text = "0"
    elif 99 <= p < 100:
        # Rounded down: 99.999% must never read as a perfect 100%.
        text = _trim(f"{math.floor(p * 100) / 100:.2f}")
    elif p >= 1:
        text = _trim(f"{p:.1f}")
    else:
        digits = min(6, 1 - math.floor(math.log10(p)))  # two significant digits
        text = _trim(f"{p:.{digits}f}")
    return f"{sign}{text}{unit}"


def fmt_count(value: float) -> str:
    return f"{value:,.0f}"


def fmt_value(value: float | None, metric: str) -> str:
    """A measured value, target or warning level of `metric`."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not measured"
    if metric in RATIO_METRICS or metric.startswith("share"):
        return fmt_pct(value)
    if metric.endswith("_ms"):
        return fmt_ms(value)
    if metric in ("recovery_s", "seconds"):
        return fmt_seconds(value)
    if metric == "sustained_multiplier":
        return f"{value:g}x"
    if metric in ("violations", "requests", "count", "failed_checks"):
        return fmt_count(value)
    if metric == "cpu_percent":
        return f"{value:.0f}%"
    return f"{value:.3g}"


def fmt_margin(value: float | None, metric: str) -> str:
    """Distance to the failing level, signed (+ inside the SLO, − past it), in the metric's unit;
    ratio margins are percentage points."""
    if value is None or not math.isfinite(value):
        return ""
    if metric in RATIO_METRICS:
        return fmt_pct(value, signed=True, unit=" pp")
    if metric.endswith("_ms"):
        return fmt_ms(value, signed=True)
    sign = MINUS if value < 0 else "+" if value > 0 else ""
    return f"{sign}{fmt_value(abs(value), metric)}"
