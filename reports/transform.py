"""Pure DataFrame -> DataFrame steps, vectorised, chained with `.pipe` by doorbuster.reports.evaluate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports.load import Fault

__all__ = [
    "CHART_POINTS",
    "PERCENTILES",
    "SPAN",
    "chart_bucket_s",
    "held_steps",
    "locust_minute_availability",
    "locust_timeline",
    "on_grid",
    "plan_segments",
    "with_corrected_latency",
    "with_faults",
]

PERCENTILES = (50.0, 95.0, 99.0)
SEGMENT = c.SEGMENT
SPAN = "span_s"  # a timeline bucket's width: each bucket is drawn over its own time span

# Chart bucket widths a reader recognises; the run's length picks one (chart_bucket_s).
_NICE_BUCKETS_S = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
CHART_POINTS = 60  # a one-minute run: 60 one-second buckets; a day: 48 of 30 minutes


def chart_bucket_s(duration_s: float, points: int = CHART_POINTS) -> float:
    """The chart's bucket width for a run of `duration_s`: the smallest round width giving at most
    `points` buckets (and at least about half as many)."""
    target = max(duration_s, 0.0) / points
    return float(next((b for b in _NICE_BUCKETS_S if b >= target), _NICE_BUCKETS_S[-1]))


def on_grid(windows: pd.DataFrame, *, t0: float, step: float, end: float) -> pd.DataFrame:
    """Every bucket from the run's start to `end` (the last request's start), empty ones included
    (no requests: 0 req/s and no latency), each with its span."""
    grid = t0 + step * np.arange(int(np.floor((end - t0) / step + 1e-9)) + 1)
    full = windows.set_index(c.WINDOW).reindex(grid, method="nearest", tolerance=step * 1e-6)
    full = full.fillna({"requests": 0, "bad": 0, "rps": 0.0})
    return full.rename_axis(c.WINDOW).reset_index().assign(**{SPAN: step})


def with_corrected_latency(requests: pd.DataFrame) -> pd.DataFrame:
    """Add `corrected_ms` (latency as the schedule saw it: from intended start to end), `bad`
    and `end_ts` (when the answer came).

    A request that started late because the generator or the shop stalled waited for that long
    too; measuring from `ts` alone hides it (coordinated omission). Unknown intended_ts -> raw.
    """
    ts, latency = requests[c.TS].to_numpy(), requests[c.LATENCY_MS].to_numpy()
    delay_ms = np.nan_to_num(np.clip(ts - requests[c.INTENDED_TS].to_numpy(), 0, None)) * 1000.0
    return requests.assign(
        **{
            c.CORRECTED_MS: latency + delay_ms,
            c.BAD: ~requests[c.OK].to_numpy(),
            c.END_TS: ts + latency / 1000.0,
        }
    )


def plan_segments(planned: pd.DataFrame, *, run_end: float) -> pd.DataFrame:
    """The planned-rate step function: one row per planned_rate.csv tick, lasting to the next."""
    seg = planned.reset_index(drop=True)
    ends = np.append(seg[c.TS].to_numpy()[1:], max(run_end, float(seg[c.TS].iloc[-1])))
    duration = np.clip(ends - seg[c.TS].to_numpy(), 0, None)
    return seg.assign(
        end=ends,
        duration_s=duration,
        planned_requests=seg[c.PLANNED_RPS].astype(float).to_numpy() * duration,
        **{c.PHASE: seg[c.PHASE].astype(str), c.STAGE: seg[c.STAGE].astype(str)},
    )


def held_steps(segments: pd.DataFrame, *, min_hold_s: float, phase: str | None = None) -> pd.DataFrame:
    """The plan's load steps: segments outside ramps whose multiplier was held for `min_hold_s` in all.

    A ramp, a flash sale's rise or fall passes through many multipliers for a tick each; only
    the levels the plan holds are steps whose latency and error rate can be read.
    """
    chosen = segments[(segments[c.PHASE] != "ramp") & (segments["planned_requests"] > 0)]
    if phase is not None:
        chosen = chosen[chosen[c.PHASE] == phase]
    held = chosen.groupby(c.MULTIPLIER)["duration_s"].transform("sum") >= min_hold_s
    return chosen[held]


def with_faults(requests: pd.DataFrame, faults: Sequence[Fault]) -> pd.DataFrame:
    """Add `in_fault`: the request started while a fault was active."""
    ts = requests[c.TS].to_numpy()
    inside = np.zeros(len(requests), dtype=bool)
    for fault in faults:
        inside |= (ts >= fault.start) & (ts <= fault.end)
    return requests.assign(**{c.FAULT: inside})


def locust_timeline(history: pd.DataFrame) -> pd.DataFrame:
    """Locust's own 'Aggregated' history rows as a timeline (used when no per-request data exist)."""
    rows = history[history["Name"] == "Aggregated"]
    out = pd.DataFrame(
        {
            c.WINDOW: pd.to_numeric(rows["Timestamp"], errors="coerce"),
            "rps": pd.to_numeric(rows["Requests/s"], errors="coerce"),
            "fps": pd.to_numeric(rows["Failures/s"], errors="coerce"),
        }
    )
    for q in PERCENTILES:
        column = f"{q:g}%"
        out[f"p{q:g}"] = pd.to_numeric(rows[column], errors="coerce") if column in rows else np.nan
    for column, name in (("Total Request Count", "total_requests"), ("Total Failure Count", "total_failures")):
        out[name] = pd.to_numeric(rows[column], errors="coerce") if column in rows else np.nan
    out = out.assign(error_rate=(out["fps"] / out["rps"]).where(out["rps"] > 0))
    return out.dropna(subset=[c.WINDOW]).reset_index(drop=True)


def locust_minute_availability(timeline: pd.DataFrame, *, t0: float, good_ratio: float) -> pd.DataFrame:
    """Per minute from Locust's cumulative totals (exact counts): requests, successes, up or not."""
    rows = timeline.dropna(subset=["total_requests", "total_failures"])
    minute = t0 + np.floor((rows[c.WINDOW].to_numpy() - t0) / 60.0) * 60.0
    last = rows.assign(minute=minute).groupby("minute")[["total_requests", "total_failures"]].last()
    delta = last.diff().fillna(last)  # the first minute counts from zero
    frame = pd.DataFrame({"requests": delta["total_requests"], "ok": delta["total_requests"] - delta["total_failures"]})
    frame = frame[frame["requests"] > 0]
    frame = frame.assign(ok_ratio=frame["ok"] / frame["requests"])
    return frame.assign(available=frame["ok_ratio"] >= good_ratio).reset_index()
