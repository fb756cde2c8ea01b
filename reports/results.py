"""What evaluation produces: one Result per SLO, load checks, budgets, headroom, the verdict."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FAIL",
    "NOT_APPLICABLE",
    "NO_DATA",
    "PASS",
    "TOO_FEW",
    "UNOFFERED",
    "WARN",
    "Budget",
    "Headroom",
    "LoadCheck",
    "Regression",
    "Result",
    "judge",
]

PASS, WARN, FAIL, NO_DATA = "pass", "warn", "fail", "no data"
NOT_APPLICABLE = "not applicable"  # the plan never offered the load (step, phase, fault) it needs
TOO_FEW = "too few requests"  # past the failing level, but on fewer requests than min_requests
# Past the failing level only because the load was not sent, and the generator cannot vouch that
# it could have sent it: the run is INCONCLUSIVE on this SLO, not NO-GO (see checks.unoffered).
UNOFFERED = "inconclusive"


@dataclass(frozen=True)
class Result:
    name: str
    kind: str  # "slo", "fault", "integrity"
    metric: str
    scope: str
    measured: float | None
    target: float
    direction: str  # "max" or "min"
    warn: float | None
    verdict: str
    source: str
    description: str = ""
    note: str = ""
    requests: int = 0
    load_limited: bool = False  # missed because the planned load was not sent, not because the shop broke
    subject: str = ""  # what a stakeholder calls the scope: "checkouts", "searches", "requests"
    min_requests: int = 0  # fewer requests in scope cannot prove a breach (0: no minimum)

    @property
    def margin(self) -> float | None:
        """Distance to the failing level; positive = inside the SLO."""
        if self.measured is None:
            return None
        return self.target - self.measured if self.direction == "max" else self.measured - self.target


def judge(
    measured: float | None,
    target: float,
    direction: str,
    warn: float | None,
    *,
    requests: int | None = None,
    min_requests: int = 0,
) -> str:
    """pass / warn / fail / no data for a value against a failing and an optional warning level;
    a value past the failing level on fewer than `min_requests` requests is TOO_FEW, not FAIL."""
    if measured is None:
        return NO_DATA
    sign = 1.0 if direction == "max" else -1.0
    if sign * (measured - target) > 0:
        return TOO_FEW if requests is not None and requests < min_requests else FAIL
    if warn is not None and sign * (measured - warn) > 0:
        return WARN
    return PASS


@dataclass(frozen=True)
class LoadCheck:
    """A check that the load was what the plan said and the generator kept up (else INCONCLUSIVE)."""

    name: str
    measured: float | None
    limit: float
    direction: str
    ok: bool | None  # None: not measured
    explanation: str
    key: str = ""  # achieved, cpu, user_cap, lag, missed
    metric: str = ""  # how to format measured and limit (doorbuster.reports.formatting.fmt_value)
    blame: str = ""  # for a check not met: "generator" (the load cannot be trusted) or "shop" (it queued)


@dataclass(frozen=True)
class Budget:
    """Error budget of one SLO over the run: burn rate = bad ratio / (1 - objective)."""

    slo: str
    objective: float  # share of requests that must be good, e.g. 0.9985
    bad_ratio: float
    burn_rate: float  # 1.0 = spending the budget exactly as fast as allowed
    worst_window_burn: float
    worst_window_start: float | None


@dataclass(frozen=True)
class Headroom:
    percentile: float
    steps: tuple[tuple[float, float, int], ...]  # (multiplier, latency at the percentile, requests)
    climb_at: float | None  # first load step whose latency exceeds climb_ratio x the lowest step's
    headroom: float  # highest load step before latency climbs


@dataclass(frozen=True)
class Regression:
    name: str
    baseline: float | None
    current: float | None
    change: float | None  # relative, signed in the "worse" direction (+0.12 = 12% worse)
    tolerance: float
    regressed: bool
    metric: str = ""
    direction: str = "max"  # the SLO's: "max" means higher is worse

    @property
    def moved(self) -> float | None:
        """The value's own relative change, signed as the value moved (−1.0: fell by 100%)."""
        if self.change is None:
            return None
        return self.change if self.direction == "max" else -self.change
