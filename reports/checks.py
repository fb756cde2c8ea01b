"""Honest verdicts and extras: load checks, integrity, error budgets, headroom."""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

import numpy as np
import pandas as pd

from reports import columns as c
from reports.load import RunData
from reports.metrics import scope_mask
from reports.results import FAIL, NO_DATA, PASS, Budget, Headroom, LoadCheck, Result
from reports.slo import Objective, Settings
from reports.transform import SEGMENT, held_steps, plan_segments
from retailflow.contracts import INVARIANTS  # the names the audit writes into audit.json

__all__ = ["INVARIANTS", "budgets", "headroom", "integrity_results", "load_checks"]



def _planned_total(run: RunData) -> float:
    # Without per-request data the plan ends at its last tick.
    assert run.planned is not None
    return float(plan_segments(run.planned, run_end=float(run.planned[c.TS].max()))["planned_requests"].sum())


def load_checks(
    run: RunData, segments: pd.DataFrame | None, settings: Settings, *, sent_total: int | None = None
) -> list[LoadCheck]:
    """Was the planned load sent, and did the generator keep its schedule? (else INCONCLUSIVE)

    `sent_total` counts the requests sent when there is no per-request data (Locust's own count)."""
    checks: list[LoadCheck] = []
    ratio: float | None = None
    why = "the shop must be given the planned load before it can be said to survive it"
    if segments is not None:
        planned_total = float(segments["planned_requests"].sum())
        if planned_total > 0:
            ratio = float(segments["achieved_requests"].sum() / planned_total)
    elif run.planned is not None and len(run.planned) and sent_total is not None:
        planned_total = _planned_total(run)
        if planned_total > 0:
            ratio = float(sent_total / planned_total)
            why += " (sent = Locust's request count)"
    if ratio is None:
        why = "no planned_rate.csv" if run.planned is None else "no per-request data to count what was sent"
    ok = None if ratio is None else ratio >= settings.min_achieved_ratio
    checks.append(LoadCheck("achieved / planned requests", ratio, settings.min_achieved_ratio, "min", ok, why))
    if run.generator is not None and len(run.generator):
        cpu = pd.to_numeric(run.generator[c.CPU_PERCENT], errors="coerce").dropna()
        # p95 per worker, worst worker: a brief start-up spike is not an overloaded generator.
        worst = float(cpu.groupby(run.generator[c.WORKER]).quantile(0.95).max()) if len(cpu) else float("nan")
        ok = bool(worst <= settings.max_generator_cpu_percent) if np.isfinite(worst) else None
        checks.append(
            LoadCheck(
                "generator CPU % (p95, worst worker)",
                worst if np.isfinite(worst) else None,
                settings.max_generator_cpu_percent,
                "max",
                ok,
                "an overloaded generator sends late and measures its own queueing, not the shop",
            )
        )
    else:
        checks.append(
            LoadCheck(
                "generator CPU % (p95, worst worker)",
                None,
                settings.max_generator_cpu_percent,
                "max",
                None,
                "no generator.csv",
            )
        )
    if run.iterations is not None and len(run.iterations):
        missed = run.iterations[c.MISSED].astype(str).str.lower().isin(("true", "1"))
        lag = pd.to_numeric(run.iterations.loc[~missed, c.LAG_MS], errors="coerce").dropna()
        lag_p95 = float(np.quantile(lag, 0.95)) if len(lag) else None
        checks.append(
            LoadCheck(
                "schedule lag p95 (ms)",
                lag_p95,
                settings.max_schedule_lag_p95_ms,
                "max",
                None if lag_p95 is None else lag_p95 <= settings.max_schedule_lag_p95_ms,
                "iterations that start late are load the plan wanted but the shop never saw on time",
            )
        )
        ratio = float(missed.mean())
        checks.append(
            LoadCheck(
                "missed iterations (share)",
                ratio,
                settings.max_missed_ratio,
                "max",
                ratio <= settings.max_missed_ratio,
                "iterations the plan wanted but the generator never started",
            )
        )
    else:
        checks.append(
            LoadCheck("schedule lag p95 (ms)", None, settings.max_schedule_lag_p95_ms, "max", None, "no iterations.csv")
        )
    return checks


def _detail(detail: Any) -> str:
    if isinstance(detail, dict):
        if set(detail) == {"note"}:
            return str(detail["note"])
        return ", ".join(f"{k}={v}" for k, v in detail.items())
    return str(detail)


def integrity_results(audit: dict[str, Any] | None, wanted: tuple[str, ...] | None) -> list[Result]:
    """One result per audited invariant (violations must be 0); an unaudited one has no data."""
    if wanted is None:
        return []
    invariants = audit.get("invariants", []) if audit else []
    found = {str(i.get("name")): i for i in invariants if isinstance(i, dict)}
    names = list(INVARIANTS) + [n for n in found if n not in INVARIANTS]
    if wanted != ("all",):
        # A shop of its own names its own invariants: named ones are expected even when unaudited,
        # and globs that match nothing are one unmeasured check, never a silent pass.
        named = [g for g in wanted if not any(ch in g for ch in "*?[")]
        names = [n for n in [*names, *named] if any(fnmatch(n, g) for g in wanted)]
        names = list(dict.fromkeys(names)) or [" | ".join(wanted)]
    results = []
    for name in names:
        item = found.get(name)
        if item is None:
            measured, verdict, note = None, NO_DATA, "no audit.json" if audit is None else "not in audit.json"
        else:
            measured = float(item.get("violations") or 0)
            verdict = PASS if item.get("ok") and measured == 0 else FAIL
            details = item.get("details") or []
            note = "; ".join(map(_detail, details[:3])) if isinstance(details, list) else str(details)
        results.append(
            Result(
                name=f"integrity: {name}",
                kind="integrity",
                metric="violations",
                scope="shop stores",
                measured=measured,
                target=0.0,
                direction="max",
                warn=None,
                verdict=verdict,
                source="audit.json",
                note=note,
            )
        )
    return results


def budgets(requests: pd.DataFrame, objectives: tuple[Objective, ...]) -> list[Budget]:
    """Error budget per error-rate and latency-percentile SLO: how fast the run burned it."""
    out: list[Budget] = []
    for objective in objectives:
        if objective.metric == "error_rate":
            allowed = objective.bound
            column = c.BAD
        elif objective.percentile is not None:
            allowed = 1.0 - objective.percentile / 100.0
            column = None
        else:
            continue
        mask, _ = scope_mask(requests, objective)
        if mask is None or not mask.any() or allowed <= 0:
            continue
        scoped = requests.loc[mask, [c.BAD, c.CORRECTED_MS, c.WINDOW]]
        bad = scoped[c.BAD] if column else scoped[c.CORRECTED_MS] > objective.bound
        ratio = float(bad.mean())
        per_window = bad.groupby(scoped[c.WINDOW]).mean() / allowed
        out.append(
            Budget(
                slo=objective.name,
                objective=1.0 - allowed,
                bad_ratio=ratio,
                burn_rate=ratio / allowed,
                worst_window_burn=float(per_window.max()),
                worst_window_start=float(per_window.idxmax()),
            )
        )
    return out


def headroom(requests: pd.DataFrame, segments: pd.DataFrame | None, settings: Settings) -> Headroom | None:
    """The load step (multiple of 1x peak) where latency starts to climb; None with < 2 steps."""
    if segments is None:
        return None
    steps_held = held_steps(segments, min_hold_s=settings.window_s)
    keep = requests[SEGMENT].isin(steps_held.index.to_numpy()).to_numpy() & ~requests[c.FAULT].to_numpy()
    scoped = requests.loc[keep, [c.MULTIPLIER, c.CORRECTED_MS]]
    grouped = scoped.groupby(c.MULTIPLIER)[c.CORRECTED_MS]
    q = settings.headroom_percentile
    steps = pd.DataFrame({"lat": grouped.quantile(q / 100.0), "n": grouped.size()}).sort_index()
    steps = steps[steps.index > 0]
    if len(steps) < 2:
        return None
    base = float(steps["lat"].iloc[0])
    climbed = steps.index[steps["lat"] > base * settings.headroom_climb_ratio]
    climb_at = float(climbed[0]) if len(climbed) else None
    below = steps.index[steps.index < climb_at] if climb_at is not None else steps.index
    return Headroom(
        percentile=q,
        steps=tuple((float(m), float(r.lat), int(r.n)) for m, r in steps.iterrows()),
        climb_at=climb_at,
        headroom=float(below.max()),
    )
