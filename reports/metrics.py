"""One SLO's measured value: from raw requests where they exist, else from Locust's CSVs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatch

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports.digest import Digest, ScopeFigures
from doorbuster.reports.slo import LOAD_PHASES, Objective, Settings
from doorbuster.reports.transform import held_steps

__all__ = ["Measurement", "locust_measure", "measure", "short_of_plan"]


@dataclass(frozen=True)
class Measurement:
    value: float | None  # None: no data for this scope
    source: str
    note: str = ""
    requests: int = 0
    load_limited: bool = False  # a miss caused by load the generator never sent
    not_applicable: bool = False  # the SLO needs load (a step, a phase, a fault) the plan never offered


def _not_applicable(why: str, source: str = "planned_rate.csv") -> Measurement:
    return Measurement(None, source, why, not_applicable=True)


def short_of_plan(ratio: float) -> str:
    """A step's note when the load fell short of it, its share rounded down: 89.96% sent is not
    "90% sent" beside a 90% bar."""
    return f"short of its plan ({math.floor(ratio * 1000) / 10:g}% sent)"


def _sustained(figures: ScopeFigures, segments: pd.DataFrame, objective: Objective, settings: Settings) -> Measurement:
    phase = objective.phase if objective.phase in LOAD_PHASES else None
    chosen = held_steps(segments, min_hold_s=settings.window_s, phase=phase)
    if chosen.empty:
        return _not_applicable("the plan holds no load step")
    offered = float(chosen[c.MULTIPLIER].max())
    if offered < objective.bound:
        # A steady 1x or 2.5x run cannot show 5x sustained: no load to judge, not a breach.
        return _not_applicable(f"the plan never held {objective.bound:g}x (its highest step: {offered:g}x)")
    by_step = chosen.groupby(c.MULTIPLIER)[["planned_requests", "achieved_requests"]].sum()
    # Fault windows answer to their own budgets: the step is judged on the requests outside them.
    steady = figures.steps if figures.steps is not None else pd.DataFrame(columns=["error_rate", "p95"])
    by_step = by_step.assign(
        ratio=by_step["achieved_requests"] / by_step["planned_requests"],
        error_rate=steady["error_rate"].reindex(by_step.index),
        p95=steady["p95"].reindex(by_step.index),
    ).sort_index()
    reached = (by_step["ratio"] >= settings.min_achieved_ratio).to_numpy()
    within = np.ones(len(by_step), dtype=bool)
    if "error_rate_max" in objective.params:
        within &= (by_step["error_rate"] <= objective.params["error_rate_max"]).to_numpy()
    if "latency_p95_ms_max" in objective.params:
        within &= (by_step["p95"] <= objective.params["latency_p95_ms_max"]).to_numpy()
    # A step the generator did not reach is no evidence either way; one that broke the targets
    # ends the climb: 10x is not "survived" if 5x broke.
    broke = reached & ~within
    upto = np.cumsum(broke) == 0
    held = reached & within & upto
    value = float(by_step.index[held].max()) if held.any() else 0.0
    # A step the generator fell short on says how short: "not reached" beside a higher step that
    # held read as if the shop had failed the lower load, when a few requests were missing (the
    # first step of a run includes the generator's start-up) and the step was never judged.
    short = [short_of_plan(ratio) for ratio in by_step["ratio"]]
    labels = np.where(~reached, short, np.where(within, "held", "broke"))
    steps = ", ".join(f"{m:g}x {label}" for m, label in zip(by_step.index, labels, strict=True))
    # Nothing broke yet the target was missed: the load, not the shop, fell short.
    limited = bool(not broke.any() and (~reached).any())
    sent = int(by_step["achieved_requests"].sum())
    return Measurement(value, "requests + planned_rate.csv", steps, sent, load_limited=limited)


def _achieved(segments: pd.DataFrame, objective: Objective) -> Measurement:
    chosen = segments if objective.phase == "all" else segments[segments[c.PHASE] == objective.phase]
    if objective.phase in ("fault", "no-fault"):
        return Measurement(None, "planned_rate.csv", "achieved/planned is not defined per fault phase")
    planned = float(chosen["planned_requests"].sum())
    if planned <= 0:
        return _not_applicable(f"the plan has no {objective.phase} phase")
    sent = int(chosen["achieved_requests"].sum())
    return Measurement(sent / planned, "requests + planned_rate.csv", f"{sent:,} sent of {planned:,.0f} planned", sent)


def measure(
    digest: Digest, segments: pd.DataFrame | None, objective: Objective, settings: Settings, *, has_faults: bool
) -> Measurement:
    """The objective's value over its scope of every request (exact percentiles, never averaged)."""
    source = "requests (exact)"
    if objective.phase in LOAD_PHASES and segments is not None and not (segments[c.PHASE] == objective.phase).any():
        return _not_applicable(f"the plan has no {objective.phase} phase")
    if objective.phase == "fault" and not has_faults:
        return _not_applicable("no fault window in this run", "chaos/*.journal.json")
    if objective.metric in ("achieved_ratio", "sustained_multiplier"):
        if segments is None:
            return Measurement(None, "planned_rate.csv", "no planned_rate.csv: planned load unknown")
        if objective.metric == "achieved_ratio":
            return _achieved(segments, objective)
        return _sustained(digest.scopes[objective.name], segments, objective, settings)
    if objective.phase in LOAD_PHASES and segments is None:
        return Measurement(None, source, "no planned_rate.csv: load phases unknown")
    figures = digest.scopes[objective.name]
    count = figures.requests
    if count == 0:
        return Measurement(None, source, f"no requests in scope ({objective.scope_label})")
    if objective.metric == "error_rate":
        return Measurement(figures.bad / count, source, requests=count)
    if objective.metric == "availability":
        minutes = figures.minutes
        assert minutes is not None
        value = float(minutes["available"].mean())
        note = f"{int(minutes['available'].sum())} of {len(minutes)} minutes available"
        return Measurement(value, source, note, count)
    if objective.metric == "latency_mean_ms":
        return Measurement(figures.sum_ms / count, source, requests=count)
    if objective.metric == "latency_max_ms":
        return Measurement(figures.max_ms, source, requests=count)
    return Measurement(figures.quantile_ms, source, requests=count)


_LOCUST_SOURCE = "locust_stats.csv (Locust's bucketed figures)"


def locust_measure(
    stats: pd.DataFrame, objective: Objective, *, has_faults: bool, minutes: pd.DataFrame | None = None
) -> Measurement:
    """Fallback for a plain Locust run: Locust's aggregated rows and, for availability, the
    per-minute counts from its full history (`minutes`); no journeys or load phases."""
    if objective.phase == "fault" and not has_faults:
        return _not_applicable("no fault window in this run", "chaos/*.journal.json")
    # Without a fault window, "outside faults" is the whole run.
    whole_run = objective.phase == "all" or (objective.phase == "no-fault" and not has_faults)
    if objective.journeys or not whole_run:
        return Measurement(None, _LOCUST_SOURCE, "needs per-request data (requests.parquet)")
    if objective.metric == "availability":
        if objective.endpoints or objective.exclude or minutes is None or minutes.empty:
            return Measurement(None, _LOCUST_SOURCE, "needs per-request data or locust_stats_history.csv")
        note = f"{int(minutes['available'].sum())} of {len(minutes)} minutes available"
        source = "locust_stats_history.csv (Locust's cumulative counts)"
        return Measurement(float(minutes["available"].mean()), source, note, int(minutes["requests"].sum()))
    if objective.metric in ("achieved_ratio", "sustained_multiplier"):
        return Measurement(None, _LOCUST_SOURCE, "needs planned_rate.csv and per-request data")
    is_total = stats["Name"] == "Aggregated"
    rows = stats[~is_total]
    label = (rows["Type"].astype(str) + " " + rows["Name"].astype(str)).str.strip()
    if objective.endpoints or objective.exclude:
        keep = np.ones(len(rows), dtype=bool)
        if objective.endpoints:
            keep &= label.map(lambda n: any(fnmatch(n, g) for g in objective.endpoints)).to_numpy(dtype=bool)
        if objective.exclude:
            keep &= ~label.map(lambda n: any(fnmatch(n, g) for g in objective.exclude)).to_numpy(dtype=bool)
        rows, note = rows[keep], "worst matching endpoint (an upper bound)"
    else:
        rows, note = stats[is_total], ""
    counts = pd.to_numeric(rows["Request Count"], errors="coerce").fillna(0)
    total = int(counts.sum())
    if total == 0:
        return Measurement(None, _LOCUST_SOURCE, f"no requests in scope ({objective.scope_label})")
    if objective.metric == "error_rate":
        failures = pd.to_numeric(rows["Failure Count"], errors="coerce").fillna(0).sum()
        return Measurement(float(failures / total), _LOCUST_SOURCE, requests=total)
    if objective.metric == "latency_mean_ms":
        mean = pd.to_numeric(rows["Average Response Time"], errors="coerce")
        return Measurement(float((mean * counts).sum() / total), _LOCUST_SOURCE, requests=total)
    column = "Max Response Time" if objective.metric == "latency_max_ms" else f"{objective.percentile:g}%"
    if column not in rows.columns:
        return Measurement(None, _LOCUST_SOURCE, f"Locust does not report {column}")
    values = pd.to_numeric(rows.loc[counts > 0, column], errors="coerce")
    return Measurement(float(values.max()), _LOCUST_SOURCE, note, total)
