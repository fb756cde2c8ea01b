"""The chaos schedule on the load's timeline: every experiment's start as seconds into the load.

The load plan is the one `doorbuster load` will follow (same shape, arguments, profile and
--run-time cap), so "at the 5x step" resolves to the second the plan reaches 5x, and an
experiment that would start after the load has ended is refused before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorbuster.gameday.errors import GamedayError
from doorbuster.gameday.loadengine import LoadError, RatePlan, load_profile, make_plan, parse_shape_args
from doorbuster.gameday.profile import ChaosEntry, GamedayProfile

__all__ = ["LoadTimeline", "ScheduledExperiment", "build_timeline"]

_SCAN_STEP_S = 0.1


@dataclass(frozen=True)
class ScheduledExperiment:
    index: int
    entry: ChaosEntry
    offset_s: float  # seconds after the load's first planned tick

    @property
    def label(self) -> str:
        return f"{self.entry.experiment}#{self.index}"


@dataclass(frozen=True)
class LoadTimeline:
    plan: RatePlan
    duration_s: float  # the plan's bound: the shape, capped by run_time
    experiments: tuple[ScheduledExperiment, ...]

    def planned_rps_at(self, elapsed: float) -> float | None:
        point = self.plan.plan_at(elapsed)
        return None if point is None else point.planned_rps

    def step_at(self, elapsed: float) -> str:
        point = self.plan.plan_at(elapsed)
        return "" if point is None else f"{point.stage} {point.phase}"


def _step_offset(plan: RatePlan, step: str) -> float | None:
    """The first second the plan holds `step` (its ramp into the step done)."""
    target = float(step.removesuffix("x"))
    t = 0.0
    while t < plan.bound:
        point = plan.plan_at(t)
        if point is not None and point.phase != "ramp" and abs(point.multiplier - target) < 1e-6:
            return round(t, 1)
        t += _SCAN_STEP_S
    return None


def _steps_seen(plan: RatePlan) -> list[str]:
    seen: list[str] = []
    t = 0.0
    while t < plan.bound:
        point = plan.plan_at(t)
        if point is not None and point.phase != "ramp" and point.stage not in seen:
            seen.append(point.stage)
        t += 1.0
    return seen


def build_timeline(
    profile: GamedayProfile, *, traffic_profile: str | None = None, run_time: float | None = None
) -> LoadTimeline:
    """The plan and the schedule on it; a GamedayError names the key of anything that does not fit."""
    source = profile.source
    try:
        traffic = load_profile(traffic_profile or profile.traffic_profile)
        plan = make_plan(
            profile.shape,
            parse_shape_args(profile.shape_args_text),
            one_x_rps=traffic.one_x_rps,
            time_limit=run_time or profile.run_time,
        )
    except LoadError as exc:
        raise GamedayError(f"{source}: {exc}") from None
    scheduled = []
    for index, entry in enumerate(profile.chaos):
        key = f"{source}: chaos[{index}]"
        if entry.at is not None:
            offset = entry.at
            what = f"at {entry.at:g}s"
        else:
            assert entry.at_step is not None
            step = _step_offset(plan, entry.at_step)
            if step is None:
                raise GamedayError(
                    f"{key}.at_step: the {plan.name} shape never holds {entry.at_step} "
                    f"(its steps: {', '.join(_steps_seen(plan)) or 'none'})"
                )
            offset = step + entry.after
            what = f"at_step {entry.at_step} (+{step:g}s) + after {entry.after:g}s"
        if offset >= plan.bound:
            raise GamedayError(
                f"{key}: {entry.experiment} {what} starts past the end of the load "
                f"({plan.bound:g}s; the load plan is {plan.name} {plan.args()})"
            )
        scheduled.append(ScheduledExperiment(index, entry, offset))
    scheduled.sort(key=lambda s: s.offset_s)
    return LoadTimeline(plan, plan.bound, tuple(scheduled))
