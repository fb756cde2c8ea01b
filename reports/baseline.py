"""Baseline comparison: the same SLOs on an earlier run, regressions beyond a relative tolerance."""

from __future__ import annotations

from doorbuster.reports.evaluate import Evaluation, decide
from doorbuster.reports.results import FAIL, Regression

__all__ = ["compare"]


def compare(current: Evaluation, baseline: Evaluation, baseline_dir: str) -> Evaluation:
    """Flag regressions per SLO beyond the tolerance (relative, in the SLO's "worse" direction)."""
    before = {r.name: r for r in baseline.results}
    objectives = {o.name: o for o in current.slo.objectives}
    out = []
    for r in current.results:
        b = before.get(r.name)
        if b is None or r.kind in ("integrity", "experiment"):  # judged as they stand, not against a baseline
            continue
        objective = objectives.get(r.name)
        tol = current.slo.settings.baseline_tolerance
        if objective is not None and objective.regression_tolerance is not None:
            tol = objective.regression_tolerance
        change = None
        regressed = False
        if r.measured is not None and b.measured is not None:
            sign = 1.0 if r.direction == "max" else -1.0
            if b.measured != 0:
                change = sign * (r.measured - b.measured) / abs(b.measured)
                regressed = change > tol
            else:  # from zero no relative change exists: a regression when the verdict got worse
                regressed = r.verdict == FAIL and b.verdict != FAIL
        out.append(Regression(r.name, b.measured, r.measured, change, tol, regressed, r.metric, r.direction))
    current.regressions = out
    current.baseline_dir = baseline_dir
    decide(current)
    return current
