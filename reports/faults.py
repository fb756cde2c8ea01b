"""Fault windows: the error budget while a fault is active and the time to recover after it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports.load import Fault
from doorbuster.reports.results import Result, judge
from doorbuster.reports.slo import FaultSLO, Settings

__all__ = ["fault_results", "recovery_seconds"]


def recovery_seconds(
    windows: pd.DataFrame, since: float, settings: Settings, run_end: float
) -> tuple[float | None, str]:
    """Seconds from `since` until error rate and p95 stay inside the recovery targets for
    `sustain_s`; (None, why) when the run ended too soon to tell, or never recovered."""
    step = settings.window_s
    if windows.empty:
        return None, "no requests"
    first, last = float(windows[c.WINDOW].iloc[0]), float(windows[c.WINDOW].iloc[-1])
    grid = first + step * np.arange(round((last - first) / step) + 1)
    full = windows.set_index(c.WINDOW).reindex(grid)  # windows without a request count as not recovered
    good = (full["error_rate"] <= settings.recovery_error_rate) & (full["p95"] <= settings.recovery_latency_p95_ms)
    good = good.to_numpy(dtype=bool)
    need = max(1, math.ceil(settings.recovery_sustain_s / step))
    after = np.nonzero(grid + step > since)[0]
    if after.size == 0:
        return None, "the run ended at the fault"
    start = int(after[0])
    # streak[i]: consecutive good windows starting at i (reverse cumulative run length).
    streak = np.zeros(len(good) + 1, dtype=int)
    for i in range(len(good) - 1, start - 1, -1):
        streak[i] = streak[i + 1] + 1 if good[i] else 0
    hits = np.nonzero(streak[start : len(good)] >= need)[0]
    if hits.size:
        return max(0.0, float(grid[start + hits[0]]) - since), ""
    observed = run_end - since
    return (
        None,
        f"not back inside the recovery targets for {settings.recovery_sustain_s:g} s "
        f"within the {observed:.0f} s observed",
    )


def _budget_for(fault: Fault, budgets: tuple[FaultSLO, ...]) -> FaultSLO | None:
    return next((b for b in budgets if fault.matches(b.match)), None)


def fault_results(
    counts: list[tuple[int, int]] | None,
    windows: pd.DataFrame | None,
    faults: list[Fault],
    budgets: tuple[FaultSLO, ...],
    settings: Settings,
    run_end: float,
    t0: float,
) -> list[Result]:
    """Per fault: error rate while active (from `counts`: requests and failures started inside
    each fault's window) and recovery time, each against its budget."""
    results: list[Result] = []
    for i, fault in enumerate(faults):
        budget = _budget_for(fault, budgets)
        if budget is None:
            continue
        label = f"{fault.action} ({fault.experiment})"
        scope = f"while active: +{fault.start - t0:.0f} s to +{fault.end - t0:.0f} s ({fault.end - fault.start:.0f} s)"
        if budget.error_rate_max is not None:
            value, note, count = None, "needs per-request data (requests.parquet)", 0
            if counts is not None:
                count, bad = counts[i]
                value = bad / count if count else None
                note = "" if count else "no requests while the fault was active"
            results.append(
                Result(
                    name=f"fault error rate: {label}",
                    kind="fault",
                    metric="error_rate",
                    scope=scope,
                    measured=value,
                    target=budget.error_rate_max,
                    direction="max",
                    warn=budget.error_rate_warn,
                    verdict=judge(
                        value,
                        budget.error_rate_max,
                        "max",
                        budget.error_rate_warn,
                        requests=count,
                        min_requests=settings.min_requests,
                    ),
                    source=fault.journal,
                    note=note,
                    requests=count,
                    subject=f"'{fault.experiment}'",
                    min_requests=settings.min_requests,
                )
            )
        if budget.recovery_s_max is not None:
            if windows is None:
                value, note = None, "needs per-request data (requests.parquet)"
            else:
                value, note = recovery_seconds(windows, fault.recovery_from, settings, run_end)
                if value is None and run_end - fault.recovery_from >= budget.recovery_s_max:
                    # Not recovered and observed for longer than the budget: a breach, not a gap.
                    value = run_end - fault.recovery_from
            origin = "start (a kill)" if fault.is_kill else "end"
            results.append(
                Result(
                    name=f"recovery: {label}",
                    kind="fault",
                    metric="recovery_s",
                    scope=f"from the fault's {origin}",
                    measured=value,
                    target=budget.recovery_s_max,
                    direction="max",
                    warn=budget.recovery_s_warn,
                    verdict=judge(value, budget.recovery_s_max, "max", budget.recovery_s_warn),
                    source=fault.journal,
                    note=note,
                    subject=f"'{fault.experiment}'",
                )
            )
    return results
