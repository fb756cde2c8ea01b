"""The figures the report reads from the request table, as frames: per evaluation window, chart
bucket, minute and SLO scope. doorbuster.reports.digest computes them chunk by chunk; these are their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports import transform as t
from doorbuster.reports.attribution import Offsets
from doorbuster.reports.slo import Objective, Settings

__all__ = ["Clock", "Digest", "ScopeFigures", "minute_frame", "scope_figures", "time_frame"]


@dataclass(frozen=True)
class Clock:
    """The run's time axes: evaluation windows, chart buckets and minutes, all from t0."""

    t0: float
    last_sent: float
    window_s: float
    bucket_s: float

    def index(self, ts: np.ndarray, step: float) -> np.ndarray:
        return np.floor((ts - self.t0) / step).astype(np.int64)


@dataclass
class ScopeFigures:
    """One SLO's scope: its requests, failures, latency sum/max/percentile, minutes and windows."""

    requests: int = 0
    bad: int = 0
    sum_ms: float = 0.0
    max_ms: float = float("nan")
    quantile_ms: float = float("nan")
    minutes: pd.DataFrame | None = None  # minute, requests, ok, ok_ratio, available
    windows: pd.DataFrame | None = None  # window, requests, flagged (bad, or slower than the bound)
    steps: pd.DataFrame | None = None  # sustained: multiplier, requests, bad, error_rate, p95


@dataclass
class Digest:
    clock: Clock
    total: int
    t_end: float
    windows: pd.DataFrame
    timeline: pd.DataFrame
    minutes: pd.DataFrame
    endpoints: pd.DataFrame
    errors: pd.DataFrame
    segment_sent: np.ndarray  # achieved requests per plan segment (by intended start where known)
    segment_bad: np.ndarray  # failed requests per plan segment (by ts)
    scopes: dict[str, ScopeFigures] = field(default_factory=dict)
    headroom_steps: pd.DataFrame | None = None  # multiplier, lat, n
    faults: list[tuple[int, int]] = field(default_factory=list)  # per fault: requests, bad
    attributed: int = 0  # requests counted at their iteration's intended start
    offsets: Offsets | None = None  # their offsets within their iterations (with `attributed`)


def time_frame(stats: pd.DataFrame, clock: Clock, step: float) -> pd.DataFrame:
    """window_stats' shape: window start, requests, bad, mean, percentiles, error rate, req/s."""
    stats = stats[stats["requests"] > 0]
    start = clock.t0 + stats.index.to_numpy() * step
    span = np.clip(clock.last_sent - start, 1.0, step)  # the last window ran only to the last request
    frame = pd.DataFrame(
        {
            c.WINDOW: start,
            "requests": stats["requests"].to_numpy(),
            "bad": stats["flagged"].to_numpy(),
            "mean_ms": (stats["sum"] / stats["requests"]).to_numpy(),
            **{f"p{q:g}": stats[f"p{q:g}"].to_numpy() for q in t.PERCENTILES},
        }
    )
    return frame.assign(error_rate=frame["bad"] / frame["requests"], rps=frame["requests"] / span)


def minute_frame(stats: pd.DataFrame, clock: Clock, good_ratio: float) -> pd.DataFrame:
    stats = stats[stats["requests"] > 0]
    ok = stats["requests"] - stats["flagged"]
    frame = pd.DataFrame(
        {"minute": clock.t0 + stats.index.to_numpy() * 60.0, "requests": stats["requests"].to_numpy(), "ok": ok}
    ).reset_index(drop=True)
    frame = frame.assign(ok_ratio=frame["ok"] / frame["requests"])
    return frame.assign(available=frame["ok_ratio"] >= good_ratio)


def scope_figures(
    o: Objective, frames: dict[str, pd.DataFrame], clock: Clock, settings: Settings, step_values: dict[str, np.ndarray]
) -> ScopeFigures:
    figures = ScopeFigures()
    if f"steps:{o.name}" in frames:
        s = frames[f"steps:{o.name}"]
        figures.steps = pd.DataFrame(
            {
                c.MULTIPLIER: step_values[o.name][: len(s)],
                "requests": s["requests"].to_numpy(),
                "error_rate": (s["flagged"] / s["requests"]).to_numpy(),
                "p95": s["p95"].to_numpy(),
            }
        ).set_index(c.MULTIPLIER)
        figures.requests = int(s["requests"].sum())
    whole = frames.get(f"scope:{o.name}")
    if whole is not None and len(whole):
        figures.requests, figures.bad = int(whole["requests"].iloc[0]), int(whole["flagged"].iloc[0])
        figures.sum_ms = float(whole["sum"].iloc[0])
        figures.max_ms = float(whole["max"].iloc[0]) if "max" in whole else float("nan")
        if o.percentile is not None:
            figures.quantile_ms = float(whole[f"p{o.percentile:g}"].iloc[0])
    if f"minutes:{o.name}" in frames:
        figures.minutes = minute_frame(frames[f"minutes:{o.name}"], clock, settings.good_minute_ratio)
    if f"budget:{o.name}" in frames:
        b = frames[f"budget:{o.name}"]
        b = b[b["requests"] > 0]
        figures.windows = pd.DataFrame(
            {
                c.WINDOW: clock.t0 + b.index.to_numpy() * clock.window_s,
                "requests": b["requests"],
                "flagged": b["flagged"],
            }
        ).reset_index(drop=True)
    return figures
