"""Evaluate a run folder against an SLO file: every SLO's value, target, margin and verdict,
then one honest verdict (GO, NO-GO, INCONCLUSIVE) with its reasons (doorbuster.reports.verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_NOGO, EXIT_OK
from doorbuster.reports import columns as c
from doorbuster.reports import transform as t
from doorbuster.reports.attribution import expected_requests
from doorbuster.reports.checks import budgets, headroom, integrity_results, load_checks, unoffered
from doorbuster.reports.digest import Clock, Digest, digest_requests
from doorbuster.reports.experiments import experiment_results
from doorbuster.reports.faults import fault_results
from doorbuster.reports.formatting import fmt_count
from doorbuster.reports.load import RunData, run_ended_ts
from doorbuster.reports.metrics import locust_measure, measure
from doorbuster.reports.results import NO_DATA, NOT_APPLICABLE, Budget, Headroom, LoadCheck, Regression, Result, judge
from doorbuster.reports.slo import LOAD_PHASES, SLOFile
from doorbuster.reports.verdict import GO, INCONCLUSIVE, NO_GO, NOT_EVALUATED, Banner, judge_run

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
    errors: pd.DataFrame | None = None  # the most frequent failures (None: Locust-only run)
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


def _digest(run: RunData, slo: SLOFile) -> tuple[Digest, pd.DataFrame | None]:
    """Read the request table chunk by chunk into every figure the report needs."""
    assert run.requests is not None
    settings = slo.settings
    first, last_sent = run.request_span
    planned = run.planned if run.planned is not None and len(run.planned) else None
    t0 = min(first, float(planned[c.TS].iloc[0])) if planned is not None else first
    segments = None
    sustained: dict[str, pd.DataFrame] = {}
    held = None
    if planned is not None:
        # The plan's last step lasts until the last request was sent (the plan has no end row).
        segments = t.plan_segments(planned, run_end=last_sent)
        held = t.held_steps(segments, min_hold_s=settings.window_s)
        for o in slo.objectives:
            if o.metric == "sustained_multiplier":
                phase = o.phase if o.phase in LOAD_PHASES else None
                sustained[o.name] = t.held_steps(segments, min_hold_s=settings.window_s, phase=phase)
    clock = Clock(t0, last_sent, settings.window_s, t.chart_bucket_s(last_sent - t0))
    digest = digest_requests(
        run.requests,
        clock,
        segments=segments,
        faults=run.faults,
        objectives=slo.objectives,
        settings=settings,
        sustained_steps=sustained,
        headroom_steps=held,
        iteration_starts=run.iteration_starts,
    )
    if segments is not None:
        n = len(segments)
        sent, bad = digest.segment_sent[:n], digest.segment_bad[:n]
        segments = segments.assign(
            achieved_requests=np.pad(sent, (0, n - len(sent))), bad_requests=np.pad(bad, (0, n - len(bad)))
        )
        if digest.offsets is not None and run.iteration_starts is not None:
            # Counted by intended start: the plan wanted no start after its stop, and the run's end
            # cut what iterations begun in its last seconds would have sent later.
            expected = expected_requests(
                segments, run.iteration_starts, digest.offsets, last_sent=last_sent, ended=run_ended_ts(run.meta)
            )
            segments = segments.assign(planned_requests=expected)
    return digest, segments


def _objective_results(
    run: RunData,
    slo: SLOFile,
    digest: Digest | None,
    segments: pd.DataFrame | None,
    minutes: pd.DataFrame | None,
) -> list[Result]:
    out = []
    for objective in slo.objectives:
        if digest is not None:
            m = measure(digest, segments, objective, slo.settings, has_faults=bool(run.faults))
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
    why = ev.run.not_asked.get("fault")  # a game day that did not run its chaos schedule says so
    if why and not any(r.kind == "fault" for r in ev.results):
        extra += (f"not measured: chaos experiments: {why}",)
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
    digest = segments = windows = minutes = endpoints = timeline = errors = None
    head = None
    budget_list: list[Budget] = []
    if run.requests is not None:
        digest, segments = _digest(run, slo)
        t0, t_end, total = digest.clock.t0, digest.t_end, digest.total
        windows, timeline, minutes = digest.windows, digest.timeline, digest.minutes
        endpoints, errors = digest.endpoints, digest.errors
        budget_list = budgets(digest, slo.objectives)
        head = headroom(digest, settings)
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
    results = _objective_results(run, slo, digest, segments, minutes)
    results += fault_results(
        digest.faults if digest is not None else None,
        windows if digest is not None else None,
        run.faults,
        slo.faults,
        settings,
        t_end,
        t0,
    )
    why = run.not_asked.get("integrity") if run.audit is None else None
    results += [replace(r, note=why) if why and r.verdict == NO_DATA else r
                for r in integrity_results(run.audit, slo.integrity)]  # fmt: skip
    results += experiment_results(run.experiments)
    sent = total if digest is None else None
    checks = load_checks(run, segments, settings, total_requests=total, sent_total=sent)
    ev = Evaluation(
        run,
        slo,
        t0,
        t_end,
        unoffered(results, checks),
        checks,
        budget_list,
        head,
        windows,
        timeline,
        minutes,
        endpoints,
        segments,
        total,
        errors,
    )
    decide(ev)
    return ev
