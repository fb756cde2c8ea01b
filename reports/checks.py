"""Honest verdicts and extras: load checks, integrity, error budgets, headroom."""

from __future__ import annotations

import re
from dataclasses import replace
from fnmatch import fnmatch
from typing import Any

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports.digest import Digest
from doorbuster.reports.load import RunData
from doorbuster.reports.results import FAIL, NO_DATA, PASS, UNOFFERED, Budget, Headroom, LoadCheck, Result
from doorbuster.reports.slo import Objective, Settings
from doorbuster.reports.transform import plan_segments
from retailflow.contracts import INVARIANTS  # the names the audit writes into audit.json

__all__ = [
    "INVARIANTS",
    "budgets",
    "generator_healthy",
    "headroom",
    "integrity_phrase",
    "integrity_results",
    "load_checks",
    "unoffered",
]


def _planned_total(run: RunData) -> float:
    # Without per-request data the plan ends at its last tick.
    assert run.planned is not None
    return float(plan_segments(run.planned, run_end=float(run.planned[c.TS].max()))["planned_requests"].sum())


def _achieved_ratio(run: RunData, segments: pd.DataFrame | None, sent_total: int | None) -> tuple[float | None, str]:
    why = "the shop must be given the planned load before it can be said to survive it"
    if segments is not None:
        planned_total = float(segments["planned_requests"].sum())
        if planned_total > 0:
            return float(segments["achieved_requests"].sum() / planned_total), why
    elif run.planned is not None and len(run.planned) and sent_total is not None:
        planned_total = _planned_total(run)
        if planned_total > 0:
            return float(sent_total / planned_total), why + " (sent = Locust's request count)"
    return None, "no planned_rate.csv" if run.planned is None else "no per-request data to count what was sent"


def _cpu_check(run: RunData, settings: Settings) -> LoadCheck:
    name, why = "generator CPU (p95, worst worker)", "an overloaded generator sends late and measures its own queueing"
    worst: float | None = None
    if run.generator is not None and len(run.generator):
        cpu = pd.to_numeric(run.generator[c.CPU_PERCENT], errors="coerce").dropna()
        # p95 per worker, worst worker: a brief start-up spike is not an overloaded generator.
        if len(cpu):
            worst = float(cpu.groupby(run.generator.loc[cpu.index, c.WORKER]).quantile(0.95).max())
    else:
        why = "no generator.csv"
    ok = None if worst is None else worst <= settings.max_generator_cpu_percent
    return LoadCheck(name, worst, settings.max_generator_cpu_percent, "max", ok, why, "cpu", "cpu_percent")


def _user_cap_check(run: RunData) -> LoadCheck | None:
    # Written by generators whose user pool grows with the shop's latency up to a cap.
    if run.generator is None or c.CAP_HIT not in run.generator.columns:
        return None
    # Empty where the pool is not controlled (a worker's rows, the closed model): not measured there.
    known = run.generator[c.CAP_HIT].astype(str).str.strip().str.lower()
    known = known[known.isin(("true", "false", "1", "0"))]
    if known.empty:
        return None
    hit = known.isin(("true", "1"))
    seconds = float(hit.groupby(run.generator.loc[known.index, c.WORKER]).sum().max())
    return LoadCheck(
        "seconds at the user cap (worst worker)",
        seconds,
        0.0,
        "max",
        seconds <= 0,
        "at its cap the user pool cannot start what the schedule asks: the generator, not the shop, sets the pace",
        "user_cap",
        "seconds",
    )


def _schedule_checks(run: RunData, settings: Settings) -> list[LoadCheck]:
    schedule = run.schedule
    if schedule is None or not schedule.iterations:
        return [
            LoadCheck(
                "schedule lag p95", None, settings.max_schedule_lag_p95_ms, "max", None, "no iterations.csv", "lag",
                "lag_ms",
            )
        ]  # fmt: skip
    lag_p95, share = schedule.lag_p95_ms, schedule.missed_share
    return [
        LoadCheck(
            "schedule lag p95",
            lag_p95,
            settings.max_schedule_lag_p95_ms,
            "max",
            None if lag_p95 is None else lag_p95 <= settings.max_schedule_lag_p95_ms,
            "iterations that start late are load the plan wanted but the shop never saw on time",
            "lag",
            "lag_ms",
        ),
        LoadCheck(
            "missed iterations",
            share,
            settings.max_missed_ratio,
            "max",
            share <= settings.max_missed_ratio,
            "iterations the plan wanted but the generator never started",
            "missed",
            "share",
        ),
    ]


def _script_check(run: RunData, settings: Settings, total_requests: int) -> LoadCheck | None:
    # A journey that raised stopped mid-way: the load it would have sent never left the generator.
    if run.locust_exceptions is None or not len(run.locust_exceptions):
        return None
    raised = float(pd.to_numeric(run.locust_exceptions["Count"], errors="coerce").fillna(0).sum())
    share = raised / (raised + total_requests) if raised + total_requests else 0.0
    return LoadCheck(
        "load script exceptions (share of requests)",
        share,
        settings.max_missed_ratio,
        "max",
        share <= settings.max_missed_ratio,
        f"the load script raised {raised:,.0f} exception(s): each stopped a journey the plan wanted",
        "script",
        "share",
    )


def load_checks(
    run: RunData,
    segments: pd.DataFrame | None,
    settings: Settings,
    *,
    total_requests: int,
    sent_total: int | None = None,
) -> list[LoadCheck]:
    """Was the planned load sent, and who is to blame where it was not: the generator (the run
    cannot vouch for anything: INCONCLUSIVE) or the shop (requests queued behind slow answers,
    which the latency figures already include)?

    `sent_total` counts the requests sent when there is no per-request data (Locust's own count)."""
    ratio, why = _achieved_ratio(run, segments, sent_total)
    achieved = LoadCheck(
        "achieved / planned requests",
        ratio,
        settings.min_achieved_ratio,
        "min",
        None if ratio is None else ratio >= settings.min_achieved_ratio,
        why,
        "achieved",
        "achieved_ratio",
    )
    cpu, cap = _cpu_check(run, settings), _user_cap_check(run)
    health = [cpu, *([cap] if cap else []), *_schedule_checks(run, settings)]
    script = _script_check(run, settings, total_requests)
    if script is not None:
        health.append(script)
    # Late or missed starts are the shop's doing only when we know the generator had CPU and
    # users to spare: then every start waited on a busy user, i.e. on the shop's slow answers.
    spare = cpu.ok is True and cap is not None and cap.ok is True
    blamed = []
    for check in health:
        blame = "" if check.ok is not False else ("shop" if spare and check.key in ("lag", "missed") else "generator")
        blamed.append(replace(check, blame=blame))
    healthy = all(x.ok is True or x.blame == "shop" for x in blamed)
    if achieved.ok is False:
        achieved = replace(achieved, blame="shop" if healthy else "generator")
    return [achieved, *blamed]


def generator_healthy(checks: list[LoadCheck]) -> bool:
    """Every generator check measured and met (or missed only because the shop queued requests)."""
    return all(x.ok is True or x.blame == "shop" for x in checks if x.key != "achieved")


def unoffered(results: list[Result], checks: list[LoadCheck]) -> list[Result]:
    """Results missed only for want of load (throughput, a step not reached) turn from FAIL into
    UNOFFERED when the generator cannot vouch that it could offer the plan: the shortfall may be
    the generator's, so the table, summary.json and junit.xml must not call it the shop's breach.
    With a healthy generator the shop took less than planned, and FAIL stands."""
    if generator_healthy(checks):
        return results
    return [replace(r, verdict=UNOFFERED) if r.verdict == FAIL and r.load_limited else r for r in results]


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
        phrase = ""
        if item is None:
            measured, verdict, note = None, NO_DATA, "no audit.json" if audit is None else "not in audit.json"
        else:
            measured = float(item.get("violations") or 0)
            verdict = PASS if item.get("ok") and measured == 0 else FAIL
            details = item.get("details") or []
            note = "; ".join(map(_detail, details[:3])) if isinstance(details, list) else str(details)
            if verdict == FAIL:
                phrase = integrity_phrase(name, max(measured, 1.0), details if isinstance(details, list) else [])
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
                subject=phrase,
            )
        )
    return results


# What a broken invariant means to the business; {n} is the audit's count of violations.
_INTEGRITY_PHRASES = {
    "ledger_orders_exist": ("confirmed order", "lost"),
    "no_double_confirmation": ("order", "confirmed twice"),
    "no_double_capture": ("payment", "captured twice"),
    "no_capture_without_order": ("payment", "captured without an order"),
    "stock_conservation": ("SKU", "whose stock does not add up"),
    "no_negative_stock": ("SKU", "oversold"),
    "legacy_convergence": ("SKU", "diverged in the legacy store"),
    "projection_replay": ("order projection", "out of step with its event log"),
}
_CONSERVATION = re.compile(r"initial (-?\d+) != available (-?\d+) \+ reserved (-?\d+) \+ sold (-?\d+)")


def integrity_phrase(name: str, violations: float, details: list[Any]) -> str:
    """ "1 unit of stock lost", "3 orders confirmed twice": a broken invariant in business terms."""
    if name == "stock_conservation":
        # The audit lists at most 50 SKUs; the units it names are a floor when there are more.
        missing = 0
        for detail in details:
            found = _CONSERVATION.search(str(detail.get("problem", "")) if isinstance(detail, dict) else str(detail))
            if found:
                initial, available, reserved, sold = map(int, found.groups())
                missing += initial - (available + reserved + sold)
        if missing:
            units = f"{abs(missing):,} unit{'' if abs(missing) == 1 else 's'} of stock"
            more = "at least " if violations > len(details) else ""
            return f"{more}{units} {'lost' if missing > 0 else 'appeared from nowhere'}"
    noun, what = _INTEGRITY_PHRASES.get(name, (f"{name} violation", "found"))
    n = int(violations)
    return f"{n:,} {noun}{'' if n == 1 else 's'} {what}"


def budgets(digest: Digest, objectives: tuple[Objective, ...]) -> list[Budget]:
    """Error budget per error-rate and latency-percentile SLO: how fast the run burned it."""
    out: list[Budget] = []
    for objective in objectives:
        if objective.metric == "error_rate":
            allowed = objective.bound
        elif objective.percentile is not None:
            allowed = 1.0 - objective.percentile / 100.0
        else:
            continue
        windows = digest.scopes[objective.name].windows
        if windows is None or not len(windows) or allowed <= 0:
            continue
        ratio = float(windows["flagged"].sum() / windows["requests"].sum())
        per_window = (windows["flagged"] / windows["requests"]).to_numpy() / allowed
        worst = int(np.argmax(per_window))
        out.append(
            Budget(
                slo=objective.name,
                objective=1.0 - allowed,
                bad_ratio=ratio,
                burn_rate=ratio / allowed,
                worst_window_burn=float(per_window[worst]),
                worst_window_start=float(windows[c.WINDOW].iloc[worst]),
            )
        )
    return out


def headroom(digest: Digest, settings: Settings) -> Headroom | None:
    """The load step (multiple of 1x peak) where latency starts to climb; None with < 2 steps."""
    if digest.headroom_steps is None:
        return None
    steps = digest.headroom_steps
    steps = steps[(steps[c.MULTIPLIER] > 0) & (steps["n"] > 0)].set_index(c.MULTIPLIER).sort_index()
    if len(steps) < 2:
        return None
    base = float(steps["lat"].iloc[0])
    climbed = steps.index[steps["lat"] > base * settings.headroom_climb_ratio]
    climb_at = float(climbed[0]) if len(climbed) else None
    below = steps.index[steps.index < climb_at] if climb_at is not None else steps.index
    return Headroom(
        percentile=settings.headroom_percentile,
        steps=tuple((float(m), float(r.lat), int(r.n)) for m, r in steps.iterrows()),
        climb_at=climb_at,
        headroom=float(below.max()),
    )
