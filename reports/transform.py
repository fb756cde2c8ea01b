"""Pure DataFrame -> DataFrame steps, vectorised, chained with `.pipe` by reports.evaluate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reports import columns as c
from reports.load import Fault

__all__ = [
    "CHART_POINTS",
    "PERCENTILES",
    "SPAN",
    "achieved_per_segment",
    "chart_bucket_s",
    "endpoint_table",
    "error_table",
    "held_steps",
    "locust_minute_availability",
    "locust_timeline",
    "minute_availability",
    "on_grid",
    "plan_segments",
    "window_stats",
    "with_corrected_latency",
    "with_faults",
    "with_plan",
    "with_windows",
]

PERCENTILES = (50.0, 95.0, 99.0)
SEGMENT = "segment"
SPAN = "span_s"  # a timeline bucket's width: each bucket is drawn over its own time span

# Chart bucket widths a reader recognises; the run's length picks one (chart_bucket_s).
_NICE_BUCKETS_S = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
CHART_POINTS = 100


def chart_bucket_s(duration_s: float, points: int = CHART_POINTS) -> float:
    """The chart's bucket width for a run of `duration_s`: the smallest round width giving at most
    `points` buckets, so a one-minute run gets 60 one-second points and a day 96 of 15 minutes."""
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
    """Add `corrected_ms` (latency as the schedule saw it: from intended start to end) and `bad`.

    A request that started late because the generator or the shop stalled waited for that long
    too; measuring from `ts` alone hides it (coordinated omission). Unknown intended_ts -> raw.
    """
    delay_ms = (requests[c.TS] - requests[c.INTENDED_TS]).clip(lower=0).fillna(0) * 1000.0
    return requests.assign(**{c.CORRECTED_MS: requests[c.LATENCY_MS] + delay_ms, c.BAD: ~requests[c.OK]})


def with_windows(requests: pd.DataFrame, *, t0: float, window_s: float) -> pd.DataFrame:
    """Add `window`: the start (epoch s) of the evaluation window each request started in."""
    index = np.floor((requests[c.TS].to_numpy() - t0) / window_s)
    return requests.assign(**{c.WINDOW: t0 + index * window_s})


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


def with_plan(requests: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Add the plan's segment, phase, stage and multiplier in force when each request started."""
    starts = segments[c.TS].to_numpy()
    index = np.searchsorted(starts, requests[c.TS].to_numpy(), side="right") - 1
    inside = index >= 0  # requests before the plan's first tick belong to no phase
    safe = np.where(inside, index, 0)
    # Build the per-request phase from codes: materialising 1M strings would cost more than the rest.
    seg_codes, names = pd.factorize(segments[c.PHASE].astype(str))
    categories = [*names, ""] if "" not in names else list(names)
    blank = categories.index("")
    codes = np.where(inside, seg_codes[safe], blank) if len(segments) else np.full(len(requests), blank)
    phase = pd.Categorical.from_codes(codes, categories=categories)
    return requests.assign(
        **{
            SEGMENT: np.where(inside, index, -1),
            c.PHASE: phase,
            c.MULTIPLIER: np.where(inside, segments[c.MULTIPLIER].astype(float).to_numpy()[safe], np.nan),
        }
    )


def with_faults(requests: pd.DataFrame, faults: Sequence[Fault]) -> pd.DataFrame:
    """Add `in_fault`: the request started while a fault was active."""
    ts = requests[c.TS].to_numpy()
    inside = np.zeros(len(requests), dtype=bool)
    for fault in faults:
        inside |= (ts >= fault.start) & (ts <= fault.end)
    return requests.assign(**{c.FAULT: inside})


def achieved_per_segment(requests: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Add per plan segment the requests actually sent, their errors and their p95 latency."""
    seg = requests[SEGMENT].to_numpy()
    valid = seg >= 0
    sent = np.bincount(seg[valid], minlength=len(segments))
    bad = np.bincount(seg[valid], weights=requests[c.BAD].to_numpy()[valid], minlength=len(segments))
    return segments.assign(achieved_requests=sent, bad_requests=bad)


def _quantiles(grouped: pd.core.groupby.SeriesGroupBy) -> pd.DataFrame:
    # One call for every percentile: pandas sorts each group once for the whole list.
    qs = [q / 100.0 for q in PERCENTILES]
    frame = grouped.quantile(qs).unstack().reindex(columns=qs)
    return frame.set_axis([f"p{q:g}" for q in PERCENTILES], axis=1)


def window_stats(requests: pd.DataFrame, *, window_s: float, last_sent: float | None = None) -> pd.DataFrame:
    """Per window: requests, errors, error rate, throughput and exact latency percentiles.

    The last window is usually cut short by the end of the run; its rate is over the part
    that ran (up to `last_sent`), not over a full window.
    """
    grouped = requests.groupby(c.WINDOW, sort=True)
    counts = grouped.agg(requests=(c.TS, "size"), bad=(c.BAD, "sum"), mean_ms=(c.CORRECTED_MS, "mean"))
    frame = counts.join(_quantiles(grouped[c.CORRECTED_MS]))
    span = np.full(len(frame), window_s)
    if last_sent is not None and len(frame):
        span = np.clip(last_sent - frame.index.to_numpy(), 1.0, window_s)
    frame = frame.assign(error_rate=frame["bad"] / frame["requests"], rps=frame["requests"] / span)
    return frame.reset_index()


def minute_availability(requests: pd.DataFrame, *, t0: float, good_ratio: float) -> pd.DataFrame:
    """Per minute of the run: the share of requests that succeeded and whether the minute was up."""
    minute = t0 + np.floor((requests[c.TS].to_numpy() - t0) / 60.0) * 60.0
    grouped = pd.DataFrame({"minute": minute, c.OK: requests[c.OK].to_numpy()}).groupby("minute")
    frame = grouped[c.OK].agg(requests="size", ok="sum")
    frame = frame.assign(ok_ratio=frame["ok"] / frame["requests"])
    return frame.assign(available=frame["ok_ratio"] >= good_ratio).reset_index()


def endpoint_table(requests: pd.DataFrame) -> pd.DataFrame:
    """Per journey and endpoint: requests, failures, error rate, mean and exact percentiles."""
    grouped = requests.groupby([c.JOURNEY, c.NAME], observed=True, sort=True)
    frame = grouped.agg(
        requests=(c.TS, "size"),
        failures=(c.BAD, "sum"),
        mean_ms=(c.CORRECTED_MS, "mean"),
        max_ms=(c.CORRECTED_MS, "max"),
    )
    frame = frame.join(_quantiles(grouped[c.CORRECTED_MS]))
    frame = frame.assign(error_rate=frame["failures"] / frame["requests"])
    return frame.reset_index().astype({c.JOURNEY: str, c.NAME: str})


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


def error_table(requests: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """The most frequent failures: endpoint, status, error text and how often."""
    bad = requests.loc[requests[c.BAD].to_numpy(), [c.NAME, c.STATUS, c.ERROR]]
    counts = bad.groupby([c.NAME, c.STATUS, c.ERROR], observed=True).size().rename("occurrences")
    table = counts.sort_values(ascending=False, kind="stable").head(top).reset_index()
    return table.astype({c.NAME: str, c.ERROR: str})
