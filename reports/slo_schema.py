"""The SLO file's schema as pydantic models: types, ranges and units checked in one place.

Strict: a number is a number (never `"3"` or `true`), `nan` and `inf` are refused, ratios lie
in [0, 1], durations follow doorbuster/durations.py. doorbuster.reports.slo turns a valid file into the
plain dataclasses evaluation reads, and every ValidationError into one sentence naming the key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from doorbuster.durations import DurationError, parse_duration

__all__ = [
    "LOAD_PHASES",
    "PERCENTILE_METRIC",
    "PHASES",
    "RATIO_METRICS",
    "SIMPLE_METRICS",
    "FaultIn",
    "ObjectiveIn",
    "SLOFileIn",
]

# Phases a scope may name: the load shape's (planned_rate.csv) plus the fault timeline's.
LOAD_PHASES = ("ramp", "steady", "spike", "recovery", "soak")
PHASES = ("all", *LOAD_PHASES, "fault", "no-fault")
Phase = Literal["all", "ramp", "steady", "spike", "recovery", "soak", "fault", "no-fault"]

PERCENTILE_METRIC = re.compile(r"^latency_p(\d{1,2}(?:\.\d+)?)_ms$")
# metric -> the bound it takes: "max" (measured must stay at or under) or "min".
SIMPLE_METRICS = {
    "latency_mean_ms": "max",
    "latency_max_ms": "max",
    "error_rate": "max",
    "availability": "min",
    "achieved_ratio": "min",
    "sustained_multiplier": "min",
}
RATIO_METRICS = ("error_rate", "availability", "achieved_ratio")


def _duration(value: Any) -> Any:
    # Numbers are seconds; strings follow the suite's one grammar ("90s", "5m", "1h30m").
    if isinstance(value, str):
        try:
            return parse_duration(value, what="duration")
        except DurationError as exc:
            raise ValueError(str(exc).removeprefix("duration ")) from None
    return value


Number = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0, allow_inf_nan=False)]


def _globs(value: Any) -> Any:
    # One glob or a list of them; YAML gives lists, the model keeps an immutable tuple.
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


Globs = Annotated[tuple[str, ...], BeforeValidator(_globs)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SettingsIn(_Section):
    window_s: Duration = 10.0
    good_minute_ratio: Ratio = 0.99
    min_requests: Annotated[int, Field(ge=1)] = 20  # an SLO judged on fewer requests proves nothing


class LoadIn(_Section):
    min_achieved_ratio: Ratio = 0.9
    max_generator_cpu_percent: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 90.0
    max_schedule_lag_p95_ms: Number = 1000.0
    max_missed_ratio: Ratio = 0.01


class RecoveryIn(_Section):
    error_rate: Ratio = 0.01
    latency_p95_ms: Number = 3000.0
    sustain_s: Duration = 30.0


class HeadroomIn(_Section):
    percentile: Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False)] = 95.0
    climb_ratio: Positive = 1.5


class BaselineIn(_Section):
    tolerance: Number = 0.10
    fail_on_regression: bool = False


class ObjectiveIn(_Section):
    name: str = Field("", validate_default=True)
    metric: str
    max: Number | None = None
    min: Number | None = None
    warn: Number | None = None
    description: str = ""
    subject: str = ""  # what a stakeholder calls the scope: "checkouts", "searches"
    journey: Globs = ()
    endpoint: Globs = ()
    exclude: Globs = ()
    phase: Phase = "all"
    params: dict[Literal["error_rate_max", "latency_p95_ms_max"], Number] = {}
    regression_tolerance: Number | None = None
    min_requests: Annotated[int, Field(ge=1)] | None = None

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("every SLO needs a non-empty name")
        return name

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        match = PERCENTILE_METRIC.match(metric)
        if metric not in SIMPLE_METRICS and not match:
            known = ", ".join([*sorted(SIMPLE_METRICS), "latency_pNN_ms (e.g. latency_p95_ms)"])
            raise ValueError(f"unknown metric {metric!r} (known: {known})")
        if match and not 0 < float(match.group(1)) < 100:
            raise ValueError(f"percentile must be between 0 and 100, got {metric!r}")
        return metric

    @property
    def direction(self) -> str:
        return SIMPLE_METRICS.get(self.metric, "max")

    @model_validator(mode="after")
    def _one_bound(self) -> ObjectiveIn:
        natural = self.direction
        if (self.max is None) == (self.min is None):
            raise ValueError(f"give exactly one of max or min (for {self.metric}, {natural})")
        given = "max" if self.max is not None else "min"
        if given != natural:
            raise _key_problem(given, f"{self.metric} is bounded by {natural}, not {given}")
        bound = self.max if self.max is not None else self.min
        assert bound is not None
        if self.metric in RATIO_METRICS:
            for key, value in ((given, bound), ("warn", self.warn)):
                if value is not None and value > 1:
                    raise _key_problem(
                        key, f"{value:g} is not a ratio: {self.metric} lies between 0 and 1 (write 0.05 for 5%)"
                    )
        if self.warn is not None and (
            (natural == "max" and self.warn > bound) or (natural == "min" and self.warn < bound)
        ):
            raise _key_problem("warn", f"warning level {self.warn:g} is beyond the failing level {bound:g}")
        if "error_rate_max" in self.params and self.params["error_rate_max"] > 1:
            value = self.params["error_rate_max"]
            raise _key_problem("params.error_rate_max", f"{value:g} is not a ratio: it lies between 0 and 1")
        return self


class FaultIn(_Section):
    match: str = "*"
    error_rate_max: Ratio | None = None
    error_rate_warn: Ratio | None = None
    recovery_s_max: Duration | None = None
    recovery_s_warn: Duration | None = None


class IntegrityIn(_Section):
    invariants: Literal["all"] | Globs = "all"


class SLOFileIn(_Section):
    version: Literal[1] = 1
    settings: SettingsIn = SettingsIn()
    load: LoadIn = LoadIn()
    recovery: RecoveryIn = RecoveryIn()
    headroom: HeadroomIn = HeadroomIn()
    baseline: BaselineIn = BaselineIn()
    slos: list[ObjectiveIn] = []
    faults: list[FaultIn] = []
    integrity: IntegrityIn | None = None

    @field_validator("slos")
    @classmethod
    def _unique_names(cls, slos: list[ObjectiveIn]) -> list[ObjectiveIn]:
        seen: set[str] = set()
        for i, objective in enumerate(slos):
            if objective.name in seen:
                raise _key_problem(f"[{i}].name", "duplicate SLO name")
            seen.add(objective.name)
        return slos

    @model_validator(mode="after")
    def _something_to_evaluate(self) -> SLOFileIn:
        if not self.slos and not self.faults and self.integrity is None:
            raise _key_problem("slos", "no SLOs, fault budgets or integrity checks: nothing to evaluate")
        return self


def _key_problem(key: str, problem: str) -> PydanticCustomError:
    """A problem with one key below the model that raised it: doorbuster.reports.slo appends `key` to the location."""
    return PydanticCustomError("slo_key", "{problem}", {"key": key, "problem": problem})
