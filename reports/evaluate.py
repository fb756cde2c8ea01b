"""Evaluate a run folder against an SLO file: every SLO's value, target, margin and verdict,
then one honest verdict (GO, NO-GO, INCONCLUSIVE) with its reasons (reports.verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_NOGO, EXIT_OK
from reports import columns as c
from reports import transform as t
from reports.checks import budgets, headroom, integrity_results, load_checks
from reports.faults import fault_results
from reports.formatting import fmt_count
from reports.load import RunData
from reports.metrics import locust_measure, measure
from reports.results import NOT_APPLICABLE, Budget, Headroom, LoadCheck, Regression, Result, judge
from reports.slo import SLOFile
from reports.verdict import GO, INCONCLUSIVE, NO_GO, NOT_EVALUATED, Banner, judge_run

__all__ = ["GO", "INCONCLUSIVE", "NOT_EVALUATED", "NO_GO", "Evaluation", "decide", "evaluate"]

EXIT_CODES = {GO: EXIT_OK, NO_GO: EXIT_NOGO, INCONCLUSIVE: EXIT_INCONCLUSIVE, NOT_EVALUATED: EXIT_BAD_INPUT}


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
    windows: pd.DataFrame | None  # per evaluation window: requests, error rate, percentiles, rps
    timeline: pd.DataFrame | None  # the same per chart bucket (its width follows the run's length)
    minutes: pd.DataFrame | None
    endpoints: pd.DataFrame | None
    segments: pd.DataFrame | None
    total_requests: int
    prepared: pd.DataFrame | None = None  # the requests with derived columns (None: Locust-only run)
    banner: Banner = field(default_factory=lambda: Banner(INCONCLUSIVE, f"{INCONCLUSIVE}: not judged yet"))
    regressions: list[Regression] = field(default_factory=list)
    baseline_dir: str | None = None

    @property
    def verdict(self) -> str:
        return self.banner.verdict

    @property
    def reasons(self) -> list[str]:
        return self.banner.reasons

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


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
        load_metric = objective.metric in ("achieved_ratio", "sustained_multiplier")
        # Whether the load was sent is the generator's question, not one of sample size.
        minimum = 0 if load_metric else objective.min_requests
        verdict = judge(
            m.value, objective.bound, objective.direction, objective.warn, requests=m.requests, min_requests=minimum
        )
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
                verdict=NOT_APPLICABLE if m.not_applicable else verdict,
                source=m.source,
                description=objective.description,
                note=m.note,
                requests=m.requests,
                load_limited=m.load_limited or objective.metric == "achieved_ratio",
                subject=objective.subject or _subject(objective.journeys),
                min_requests=minimum,
            )
        )
    return out


def _chart_timeline(
    prepared: pd.DataFrame, windows: pd.DataFrame, t0: float, last_sent: float, window_s: float
) -> pd.DataFrame:
    bucket = t.chart_bucket_s(last_sent - t0)
    if bucket != window_s:
        scoped = prepared[[c.TS, c.BAD, c.CORRECTED_MS]].pipe(t.with_windows, t0=t0, window_s=bucket)
        windows = t.window_stats(scoped, window_s=bucket, last_sent=last_sent)
    return t.on_grid(windows, t0=t0, step=bucket, end=last_sent)


def _subject(journeys: tuple[str, ...]) -> str:
    # Without a `subject` in the SLO file: the journeys it covers, else every request.
    return " and ".join(f"{j} journeys" for j in journeys) if journeys else "requests"


def decide(ev: Evaluation) -> None:
    """Judge the run: every SLO, load check and regression into one verdict and its banner."""
    exceptions = ev.run.locust_exceptions
    extra: tuple[str, ...] = ()
    if exceptions is not None and len(exceptions):
        counts = pd.to_numeric(exceptions["Count"], errors="coerce").fillna(0)
        top = str(exceptions["Message"].iloc[int(counts.to_numpy().argmax())])
        extra = (
            f"warning: the load script raised {fmt_count(counts.sum())} exception(s) (locust_exceptions.csv); "
            f"most frequent: {top[:200]}",
        )
    ev.banner = judge_run(
        ev.results,
        ev.load_checks,
        ev.regressions,
        fail_on_regression=ev.slo.settings.fail_on_regression,
        total_requests=ev.total_requests,
        extra_warnings=extra,
    )


def evaluate(run: RunData, slo: SLOFile) -> Evaluation:
    """Every SLO of `slo` over `run`, the load checks, budgets, headroom and the verdict."""
    settings = slo.settings
    prepared = segments = windows = minutes = endpoints = timeline = None
    head = None
    budget_list: list[Budget] = []
    if run.requests is not None:
        prepared, segments, t0, t_end = _requests_timeline(run, slo)
        last_sent = float(prepared[c.TS].max())
        windows = t.window_stats(prepared, window_s=settings.window_s, last_sent=last_sent)
        timeline = _chart_timeline(prepared, windows, t0, last_sent, settings.window_s)
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
        if timeline is not None and len(timeline) > 1:
            # Locust samples its history about once a second: each row stands for the time to the next.
            spans = timeline[c.WINDOW].diff().shift(-1)
            timeline = timeline.assign(**{t.SPAN: spans.fillna(spans.median())})
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
        load_checks(run, segments, settings, total_requests=total, sent_total=sent),
        budget_list,
        head,
        windows,
        timeline,
        minutes,
        endpoints,
        segments,
        total,
    )
    ev.prepared = prepared
    decide(ev)
    return ev
