"""Evaluate a run folder against an SLO file: every SLO's value, target, margin and verdict,
then one honest verdict (GO, NO-GO, INCONCLUSIVE) with its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from doorbuster.errors import EXIT_INCONCLUSIVE, EXIT_NOGO, EXIT_OK
from reports import columns as c
from reports import transform as t
from reports.checks import budgets, headroom, integrity_results, load_checks
from reports.faults import fault_results
from reports.load import RunData
from reports.metrics import locust_measure, measure
from reports.results import FAIL, NO_DATA, WARN, Budget, Headroom, LoadCheck, Regression, Result, judge
from reports.slo import SLOFile

__all__ = ["GO", "INCONCLUSIVE", "NO_GO", "Evaluation", "decide", "evaluate", "fmt_value"]

GO, NO_GO, INCONCLUSIVE = "GO", "NO-GO", "INCONCLUSIVE"
EXIT_CODES = {GO: EXIT_OK, NO_GO: EXIT_NOGO, INCONCLUSIVE: EXIT_INCONCLUSIVE}


@dataclass
class Evaluation:
    run: RunData
    slo: SLOFile
    t0: float
    t_end: float
    results: list[Result]
    load_checks: list[LoadCheck]
    budgets: list[Budget]
    headroom: Headroom | None
    windows: pd.DataFrame | None  # per window: requests, error rate, percentiles, rps
    minutes: pd.DataFrame | None
    endpoints: pd.DataFrame | None
    segments: pd.DataFrame | None
    total_requests: int
    prepared: pd.DataFrame | None = None  # the requests with derived columns (None: Locust-only run)
    verdict: str = INCONCLUSIVE
    reasons: list[str] = field(default_factory=list)
    regressions: list[Regression] = field(default_factory=list)
    baseline_dir: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


def fmt_value(value: float | None, metric: str) -> str:
    """A measured value as a stakeholder reads it."""
    if value is None:
        return "not measured"
    if metric in ("error_rate", "availability", "achieved_ratio") or metric.startswith("share"):
        return f"{value * 100:.3g}%"
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.2f} ms"
    if metric == "recovery_s":
        return f"{value:.0f} s"
    if metric == "sustained_multiplier":
        return f"{value:g}x"
    return f"{value:g}"


def _requests_timeline(run: RunData, slo: SLOFile) -> tuple[pd.DataFrame, pd.DataFrame | None, float, float]:
    requests = run.requests
    assert requests is not None
    t0 = float(requests[c.TS].min()) if len(requests) else 0.0
    t_end = float((requests[c.TS] + requests[c.LATENCY_MS] / 1000.0).max()) if len(requests) else 0.0
    if run.planned is not None and len(run.planned):
        t0 = min(t0, float(run.planned[c.TS].iloc[0])) if len(requests) else float(run.planned[c.TS].iloc[0])
    prepared = (
        requests.pipe(t.with_corrected_latency)
        .pipe(t.with_windows, t0=t0, window_s=slo.settings.window_s)
        .pipe(t.with_faults, run.faults)
    )
    segments = None
    if run.planned is not None and len(run.planned):
        # The plan's last step lasts until the last request was sent (the plan has no end row).
        last_sent = float(requests[c.TS].max()) if len(requests) else t0
        segments = t.plan_segments(run.planned, run_end=last_sent)
        prepared = prepared.pipe(t.with_plan, segments)
        segments = t.achieved_per_segment(prepared, segments)
    return prepared, segments, t0, t_end


def _objective_results(
    run: RunData,
    slo: SLOFile,
    prepared: pd.DataFrame | None,
    segments: pd.DataFrame | None,
    t0: float,
    minutes: pd.DataFrame | None,
) -> list[Result]:
    out = []
    for objective in slo.objectives:
        if prepared is not None:
            m = measure(prepared, segments, objective, slo.settings, t0)
        else:
            assert run.locust_stats is not None
            m = locust_measure(run.locust_stats, objective, has_faults=bool(run.faults), minutes=minutes)
        out.append(
            Result(
                name=objective.name,
                kind="slo",
                metric=objective.metric,
                scope=objective.scope_label,
                measured=m.value,
                target=objective.bound,
                direction=objective.direction,
                warn=objective.warn,
                verdict=judge(m.value, objective.bound, objective.direction, objective.warn),
                source=m.source,
                description=objective.description,
                note=m.note,
                requests=m.requests,
                load_limited=m.load_limited or objective.metric == "achieved_ratio",
            )
        )
    return out


def decide(ev: Evaluation) -> None:
    """GO only when every SLO passed on the load that was planned, measured by a healthy generator."""
    sign = {"max": "≤", "min": "≥"}
    short = [x for x in ev.load_checks if x.ok is False and x.name == "achieved / planned requests"]
    # Sent less than planned: the shop was not given the load, so it neither survived nor failed it.
    unreached = [
        r
        for r in ev.results
        if r.verdict == FAIL and (r.load_limited or (short and r.metric == "sustained_multiplier"))
    ]
    failed = [r for r in ev.results if r.verdict == FAIL and r not in unreached]
    missing = [r for r in ev.results if r.verdict == NO_DATA]
    overloaded = [x for x in ev.load_checks if x.ok is False and x.name != "achieved / planned requests"]
    regressed = [r for r in ev.regressions if r.regressed]
    reasons = []
    for check in overloaded + short:
        reasons.append(
            f"load not trustworthy: {check.name} = {check.measured:.3g}, limit {sign[check.direction]} "
            f"{check.limit:g} ({check.explanation})"
        )
    exceptions = ev.run.locust_exceptions
    if exceptions is not None and len(exceptions):
        counts = pd.to_numeric(exceptions["Count"], errors="coerce").fillna(0)
        top = str(exceptions["Message"].iloc[int(counts.to_numpy().argmax())])
        reasons.append(
            f"the load script raised {int(counts.sum()):,} exception(s) (locust_exceptions.csv); "
            f"most frequent: {top[:200]}"
        )
    for r in failed:
        reasons.append(
            f"{r.name} breached: {fmt_value(r.measured, r.metric)}, target {sign[r.direction]} "
            f"{fmt_value(r.target, r.metric)} ({r.scope})"
        )
    if ev.slo.settings.fail_on_regression:
        reasons += [f"regression against baseline: {r.name} {r.change:+.0%}" for r in regressed if r.change is not None]
    for r in unreached:
        reasons.append(
            f"load not reached: {r.name} at {fmt_value(r.measured, r.metric)}, target "
            f"{sign[r.direction]} {fmt_value(r.target, r.metric)} ({r.note})"
        )
    slos_missing = [r for r in missing if r.kind != "integrity"]
    for r in slos_missing:
        reasons.append(f"{r.name} not measured: {r.note or 'no data'} (an SLO without data is not a pass)")
    # One line for the audit: eight invariants without audit.json are one missing file.
    invariants_missing = [r for r in missing if r.kind == "integrity"]
    for note in dict.fromkeys(r.note for r in invariants_missing):
        names = [r.name.removeprefix("integrity: ") for r in invariants_missing if r.note == note]
        reasons.append(f"integrity not measured: {note} ({', '.join(names)}; an SLO without data is not a pass)")
    if overloaded:
        ev.verdict = INCONCLUSIVE  # client-side figures from an overloaded generator cannot be trusted
    elif failed or (ev.slo.settings.fail_on_regression and regressed):
        ev.verdict = NO_GO
    elif short or unreached or missing:
        ev.verdict = INCONCLUSIVE
    else:
        ev.verdict = GO
        warned = [r for r in ev.results if r.verdict == WARN]
        reasons.append(f"every SLO passed ({len(ev.results)} evaluated on {ev.total_requests:,} requests)")
        reasons += [
            f"warning: {r.name} at {fmt_value(r.measured, r.metric)} (warning level {fmt_value(r.warn, r.metric)})"
            for r in warned
        ]
    if not ev.slo.settings.fail_on_regression:
        reasons += [
            f"warning: regression against baseline: {r.name} {r.change:+.0%}" for r in regressed if r.change is not None
        ]
    ev.reasons = reasons


def evaluate(run: RunData, slo: SLOFile) -> Evaluation:
    """Every SLO of `slo` over `run`, the load checks, budgets, headroom and the verdict."""
    settings = slo.settings
    prepared = segments = windows = minutes = endpoints = None
    head = None
    budget_list: list[Budget] = []
    if run.requests is not None:
        prepared, segments, t0, t_end = _requests_timeline(run, slo)
        windows = t.window_stats(prepared, window_s=settings.window_s, last_sent=float(prepared[c.TS].max()))
        minutes = t.minute_availability(prepared, t0=t0, good_ratio=settings.good_minute_ratio)
        endpoints = t.endpoint_table(prepared)
        budget_list = budgets(prepared, slo.objectives)
        head = headroom(prepared, segments, settings)
        total = len(prepared)
    else:
        assert run.locust_stats is not None
        history = run.locust_history
        timeline = t.locust_timeline(history) if history is not None else None
        t0 = float(timeline[c.WINDOW].min()) if timeline is not None and len(timeline) else 0.0
        t_end = float(timeline[c.WINDOW].max()) if timeline is not None and len(timeline) else 0.0
        windows = timeline
        if timeline is not None and len(timeline):
            minutes = t.locust_minute_availability(timeline, t0=t0, good_ratio=settings.good_minute_ratio)
        agg = run.locust_stats[run.locust_stats["Name"] == "Aggregated"]
        total = int(pd.to_numeric(agg["Request Count"], errors="coerce").sum())
    results = _objective_results(run, slo, prepared, segments, t0, minutes)
    results += fault_results(
        prepared, windows if prepared is not None else None, run.faults, slo.faults, settings, t_end, t0
    )
    results += integrity_results(run.audit, slo.integrity)
    sent = total if prepared is None else None
    ev = Evaluation(
        run,
        slo,
        t0,
        t_end,
        results,
        load_checks(run, segments, settings, sent_total=sent),
        budget_list,
        head,
        windows,
        minutes,
        endpoints,
        segments,
        total,
    )
    ev.prepared = prepared
    decide(ev)
    return ev
