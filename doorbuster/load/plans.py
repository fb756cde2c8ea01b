"""Traffic shapes as rate plans: what request rate the run should offer, second by second.

A plan's `plan_at(elapsed)` gives the planned request rate (and stage/phase); `tick_at()`
turns it into a user count through the journeys' demand (Little's law with headroom): users
are a pool serving the paced schedule (doorbuster/load/pacing.py), they do not set the rate.
Every plan is finite, so a headless run always ends. Pure Python: doorbuster/load/locust_shape.py
adapts a plan to Locust's LoadTestShape.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from doorbuster.durations import DurationError, parse_duration
from doorbuster.load.errors import ShapeError

__all__ = [
    "PLANS",
    "BlackFridayPlan",
    "Demand",
    "FlashSalePlan",
    "JourneyDemand",
    "PlanPoint",
    "RampPlan",
    "RatePlan",
    "SoakPlan",
    "SteadyPlan",
    "make_plan",
    "parse_shape_args",
    "shape_parameters",
]


@dataclasses.dataclass(frozen=True)
class PlanPoint:
    planned_rps: float
    multiplier: float
    stage: str
    phase: str


@dataclasses.dataclass(frozen=True)
class JourneyDemand:
    journey: str
    share: float  # share of journey iterations (profile mix, normalised)
    requests_per_iteration: float
    duration_s: float  # expected wall time of one iteration (think times + requests)


@dataclasses.dataclass(frozen=True)
class Demand:
    """What one planned request per second costs in iterations and in users, per journey."""

    journeys: tuple[JourneyDemand, ...]
    headroom: float = 1.5
    min_users: int = 1  # per journey with a positive share (per generator process)

    @property
    def requests_per_iteration(self) -> float:
        return sum(j.share * j.requests_per_iteration for j in self.journeys) or 1.0

    def iteration_rate(self, planned_rps: float, journey: str) -> float:
        """Planned iterations per second of one journey at a planned request rate."""
        for j in self.journeys:
            if j.journey == journey:
                return planned_rps * j.share / self.requests_per_iteration
        return 0.0

    def users(self, planned_rps: float) -> dict[str, int]:
        pools = {}
        for j in self.journeys:
            if j.share <= 0:
                pools[j.journey] = 0
                continue
            busy = self.iteration_rate(planned_rps, j.journey) * j.duration_s
            pools[j.journey] = math.ceil(busy * self.headroom) + self.min_users
        return pools


def _stage(multiplier: float) -> str:
    return f"{multiplier:.0f}x" if multiplier >= 1 else f"{multiplier:.1f}x"


class RatePlan:
    """Base of the shapes: subclasses implement `_plan(elapsed)` and `duration`."""

    name: ClassVar[str] = ""

    def __init__(
        self,
        one_x_rps: float = 40.0,
        demand: Demand | None = None,
        time_limit: float | None = None,
    ) -> None:
        self.one_x_rps = one_x_rps
        self.demand = demand or Demand((JourneyDemand("default", 1.0, 1.0, 1.0),))
        self.time_limit = time_limit
        self.timeline: list[tuple[float, float, int, str, float, str]] = []
        self.completed = False
        self._last: tuple[int, str, str] | None = None

    @property
    def duration(self) -> float:
        raise NotImplementedError

    @property
    def bound(self) -> float:
        """Seconds after which the plan ends: the shape's duration, capped by --run-time."""
        if self.time_limit:
            return min(self.duration, self.time_limit)
        return self.duration

    def args(self) -> dict[str, Any]:
        """The shape's arguments as meta.json records them."""
        return {}

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        """(multiplier, phase, stage multiplier or None) at `elapsed`, 0 <= elapsed < duration."""
        raise NotImplementedError

    def plan_at(self, elapsed: float) -> PlanPoint | None:
        """The planned rate at `elapsed` seconds into the run; None once the plan has ended."""
        if elapsed < 0 or elapsed >= self.bound:
            return None
        multiplier, phase, stage = self._plan(elapsed)
        stage_name = _stage(multiplier if stage is None else stage)
        return PlanPoint(self.one_x_rps * multiplier, multiplier, stage_name, phase)

    def users_at(self, point: PlanPoint) -> int:
        return sum(self.demand.users(point.planned_rps).values())

    def tick_at(self, elapsed: float) -> tuple[int, float] | None:
        """Locust's tick: (users, spawn rate) at `elapsed`, None to end the run; recorded."""
        point = self.plan_at(elapsed)
        if point is None:
            self.completed = True
            return None
        users = self.users_at(point)
        self.record(point, users)
        return users, float(max(20, users))

    def record(self, point: PlanPoint, users: int) -> None:
        """A row of planned_rate.csv: the plan at this tick and the users asked for."""
        self.timeline.append((time.time(), point.planned_rps, users, point.stage, point.multiplier, point.phase))


def _steps(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace("/", ",").split(",") if v]
    return tuple(float(v) for v in value)


class SteadyPlan(RatePlan):
    """A constant multiplier of 1x peak for `duration` seconds."""

    name = "steady"

    def __init__(self, multiplier: float = 1.0, duration: float = 300.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.multiplier, self._duration = float(multiplier), float(duration)

    @property
    def duration(self) -> float:
        return self._duration

    def args(self) -> dict[str, Any]:
        return {"multiplier": self.multiplier, "duration": self._duration}

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        return self.multiplier, "steady", None


class SoakPlan(SteadyPlan):
    """1x peak (or `multiplier`) held for a long time: leaks, queues, slow drift."""

    name = "soak"

    def __init__(self, multiplier: float = 1.0, duration: float = 3600.0, **kw: Any) -> None:
        super().__init__(multiplier, duration, **kw)

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        return self.multiplier, "soak", None


class RampPlan(RatePlan):
    """1x -> 5x -> 10x (`steps`): a linear ramp of `ramp` s into each step, then `hold` s on it
    (or `step_s`: each step lasts that long, its ramp included)."""

    name = "ramp"

    def __init__(
        self,
        steps: Any = (1, 5, 10),
        hold: float = 60.0,
        ramp: float = 10.0,
        step_s: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.steps, self.hold, self.ramp = _steps(steps), float(hold), float(ramp)
        self.first_hold = self.hold
        if step_s is not None:
            # `step_s`: each step (its ramp included) lasts step_s seconds
            self.ramp = min(self.ramp, float(step_s) / 5)
            self.hold = float(step_s) - self.ramp
            self.first_hold = float(step_s)
        if not self.steps or min(self.steps) <= 0:
            raise ShapeError(f"shape ramp: steps must be positive multipliers, got {steps!r}")

    @property
    def duration(self) -> float:
        return self.first_hold + (len(self.steps) - 1) * (self.ramp + self.hold)

    def args(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "first_hold": self.first_hold, "hold": self.hold, "ramp": self.ramp}

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        t = elapsed
        for i, step in enumerate(self.steps):
            if i > 0:
                if t < self.ramp:
                    prev = self.steps[i - 1]
                    # a ramp belongs to the step it climbs to
                    return prev + (step - prev) * t / self.ramp, "ramp", step
                t -= self.ramp
            hold = self.first_hold if i == 0 else self.hold
            if t < hold:
                return step, "steady", step
            t -= hold
        return self.steps[-1], "steady", self.steps[-1]


class FlashSalePlan(RatePlan):
    """A flash sale: `base` for `before` s, up to `peak` in `rise` s, hold, down, recovery."""

    name = "spike"

    def __init__(
        self,
        base: float = 1.0,
        peak: float = 10.0,
        before: float = 30.0,
        rise: float = 5.0,
        hold: float = 30.0,
        fall: float = 5.0,
        after: float = 60.0,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.base, self.peak = float(base), float(peak)
        self.before, self.rise, self.hold = float(before), float(rise), float(hold)
        self.fall, self.after = float(fall), float(after)

    @property
    def duration(self) -> float:
        return self.before + self.rise + self.hold + self.fall + self.after

    def args(self) -> dict[str, Any]:
        keys = ("base", "peak", "before", "rise", "hold", "fall", "after")
        return {k: getattr(self, k) for k in keys}

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        t = elapsed
        if t < self.before:
            return self.base, "steady", self.base
        t -= self.before
        if t < self.rise:
            return self.base + (self.peak - self.base) * t / self.rise, "spike", self.peak
        t -= self.rise
        if t < self.hold:
            return self.peak, "spike", self.peak
        t -= self.hold
        if t < self.fall:
            return self.peak - (self.peak - self.base) * t / self.fall, "spike", self.peak
        return self.base, "recovery", self.base


# Multipliers of 1x peak at each hour of Black Friday (hour 0 = midnight doors open):
# a quiet night, a morning build-up, a lunchtime and an evening peak.
_BLACK_FRIDAY_HOURS = (
    2.0, 1.2, 0.6, 0.4, 0.3, 0.4, 1.0, 1.6, 2.0, 2.4, 2.6, 2.8,
    3.0, 2.8, 2.6, 2.6, 2.8, 3.2, 3.6, 4.0, 4.0, 3.4, 2.6, 2.0,
)  # fmt: skip


class BlackFridayPlan(RatePlan):
    """A compressed Black Friday: 24 h in `day` s, a daily curve with doorbuster spikes to `peak`.

    Spikes open at the hours in `spikes` (doorbuster drops) and last `spike_minutes` of the day.
    """

    name = "blackfriday"

    def __init__(
        self,
        day: float = 600.0,
        peak: float = 10.0,
        spikes: Any = (0, 6, 12, 20),
        spike_minutes: float = 20.0,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.day, self.peak = float(day), float(peak)
        self.spikes, self.spike_minutes = _steps(spikes), float(spike_minutes)

    @property
    def duration(self) -> float:
        return self.day

    def args(self) -> dict[str, Any]:
        return {"day": self.day, "peak": self.peak, "spikes": list(self.spikes), "spike_minutes": self.spike_minutes}

    def _plan(self, elapsed: float) -> tuple[float, str, float | None]:
        hour = 24.0 * elapsed / self.day
        for start in self.spikes:
            if start <= hour < start + self.spike_minutes / 60.0:
                return self.peak, "spike", self.peak
        i = int(hour) % 24
        frac = hour - int(hour)
        low, high = _BLACK_FRIDAY_HOURS[i], _BLACK_FRIDAY_HOURS[(i + 1) % 24]
        return low + (high - low) * frac, "steady", None


PLANS: dict[str, type[RatePlan]] = {
    cls.name: cls for cls in (SteadyPlan, RampPlan, FlashSalePlan, BlackFridayPlan, SoakPlan)
}


def shape_parameters(cls: type[RatePlan]) -> dict[str, Any]:
    """A shape's arguments and their defaults (what --shape-args accepts)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"}


def parse_shape_args(text: str | None) -> dict[str, str]:
    """`hold=30,ramp=5,steps=1/5/10` -> {"hold": "30", ...} (lists use `/`)."""
    args: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ShapeError(f"shape argument {part!r}: expected key=value (e.g. hold=30,steps=1/5/10)")
        args[key.strip()] = value.strip()
    return args


_LIST_ARGS = {"steps", "spikes"}
# Multipliers of 1x peak: a finite number above zero (0 would plan an empty test).
_MULTIPLIER_ARGS = {"multiplier", "base", "peak", "steps"}
# Durations in the suite's one grammar (90, 90s, 10m, 1h30m); these bound a run, so never 0.
_DURATION_ARGS = {"duration", "day", "step_s"}
# Durations of a part of a shape, which may be left out with 0 (a ramp of 0 s is a jump).
_PART_ARGS = {"hold", "ramp", "before", "rise", "fall", "after"}


def _number(name: str, key: str, value: Any) -> float:
    if key in _DURATION_ARGS or (key in _PART_ARGS and str(value).strip() not in ("0", "0.0")):
        try:
            return parse_duration(value, what=f"shape {name}: {key}=")
        except DurationError as exc:
            raise ShapeError(str(exc).replace("= ", "=", 1)) from exc
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"shape {name}: {key}={value!r} is not a number") from exc
    if not math.isfinite(number):
        raise ShapeError(f"shape {name}: {key}={value!r} must be a finite number")
    if key in _MULTIPLIER_ARGS and number <= 0:
        raise ShapeError(f"shape {name}: {key}={value!r} must be a multiplier of 1x above zero, e.g. 1 or 2.5")
    if number < 0:
        raise ShapeError(f"shape {name}: {key}={value!r} must not be negative")
    return number


def make_plan(
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    one_x_rps: float,
    demand: Demand | None = None,
    time_limit: float | None = None,
) -> RatePlan:
    """Build the named shape; an unknown name or argument raises ShapeError naming it."""
    cls = PLANS.get(name)
    if cls is None:
        raise ShapeError(f"shape {name!r}: unknown (known: {', '.join(sorted(PLANS))})")
    kwargs: dict[str, Any] = {}
    known = shape_parameters(cls)
    for key, value in (args or {}).items():
        if key not in known:
            raise ShapeError(f"shape {name}: unknown argument {key!r} (known: {', '.join(sorted(known))})")
        if key in _LIST_ARGS:
            try:
                kwargs[key] = _steps(value)
            except ValueError as exc:
                raise ShapeError(f"shape {name}: {key}={value!r} is not a list of numbers like 1/5/10") from exc
            if not all(math.isfinite(v) for v in kwargs[key]):
                raise ShapeError(f"shape {name}: {key}={value!r} must hold finite numbers")
            if key in _MULTIPLIER_ARGS and min(kwargs[key], default=0) <= 0:
                raise ShapeError(f"shape {name}: {key}={value!r} must be multipliers of 1x above zero")
            continue
        kwargs[key] = _number(name, key, value)
    shape = cls(**kwargs, one_x_rps=one_x_rps, demand=demand, time_limit=time_limit)
    if shape.duration <= 0:
        raise ShapeError(f"shape {name}: its duration must be positive, got {shape.duration:g} s")
    return shape
