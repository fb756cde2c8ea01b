"""The SLO file (YAML): parsed and validated into plain dataclasses, with errors naming the key at fault."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reports.errors import ReportError

__all__ = [
    "DEFAULT_SLO_FILE",
    "PHASES",
    "FaultSLO",
    "Objective",
    "SLOFile",
    "Settings",
    "load_slo_file",
    "parse_slo",
]

# Phases a scope may name: the load shape's (planned_rate.csv) plus the fault timeline's.
LOAD_PHASES = ("ramp", "steady", "spike", "recovery", "soak")
PHASES = ("all", *LOAD_PHASES, "fault", "no-fault")

_PERCENTILE = re.compile(r"^latency_p(\d{1,2}(?:\.\d+)?)_ms$")
_SIMPLE_METRICS = {
    "latency_mean_ms": "max",
    "latency_max_ms": "max",
    "error_rate": "max",
    "availability": "min",
    "achieved_ratio": "min",
    "sustained_multiplier": "min",
}


def _default_slo_path() -> Path:
    return Path(str(resources.files("fixtures").joinpath("slo.yaml")))


DEFAULT_SLO_FILE = _default_slo_path()


@dataclass(frozen=True)
class Objective:
    """One SLO line: a metric over a scope, a failing bound and an optional warning bound."""

    name: str
    metric: str
    bound: float  # failing threshold
    direction: str  # "max": measured must stay <= bound; "min": measured must stay >= bound
    warn: float | None = None
    description: str = ""
    journeys: tuple[str, ...] = ()  # globs; empty = every journey
    endpoints: tuple[str, ...] = ()  # globs on the request name ("GET /p/[sku]")
    exclude: tuple[str, ...] = ()  # globs on the request name to leave out
    phase: str = "all"
    params: dict[str, float] = field(default_factory=dict)  # metric-specific (sustained_multiplier)
    regression_tolerance: float | None = None

    @property
    def percentile(self) -> float | None:
        match = _PERCENTILE.match(self.metric)
        return float(match.group(1)) if match else None

    @property
    def scope_label(self) -> str:
        parts = []
        if self.journeys:
            parts.append("journey " + ",".join(self.journeys))
        if self.endpoints:
            parts.append("endpoint " + ",".join(self.endpoints))
        if self.exclude:
            parts.append("except " + ",".join(self.exclude))
        if self.phase != "all":
            parts.append("phase " + self.phase)
        return "; ".join(parts) or "all requests"


@dataclass(frozen=True)
class FaultSLO:
    """Budgets for the fault windows whose experiment title or action name matches `match`."""

    match: str = "*"
    error_rate_max: float | None = None
    error_rate_warn: float | None = None
    recovery_s_max: float | None = None
    recovery_s_warn: float | None = None


@dataclass(frozen=True)
class Settings:
    window_s: float = 10.0
    good_minute_ratio: float = 0.99
    min_achieved_ratio: float = 0.9
    max_generator_cpu_percent: float = 90.0
    max_schedule_lag_p95_ms: float = 1000.0
    max_missed_ratio: float = 0.01
    recovery_error_rate: float = 0.01
    recovery_latency_p95_ms: float = 3000.0
    recovery_sustain_s: float = 30.0
    headroom_percentile: float = 95.0
    headroom_climb_ratio: float = 1.5
    baseline_tolerance: float = 0.10
    fail_on_regression: bool = False


@dataclass(frozen=True)
class SLOFile:
    path: str
    objectives: tuple[Objective, ...]
    faults: tuple[FaultSLO, ...]
    integrity: tuple[str, ...] | None  # None: no integrity SLO; ("all",) every invariant
    settings: Settings


def load_slo_file(path: str | Path | None = None) -> SLOFile:
    """Read and validate an SLO file (default: fixtures/slo.yaml); ReportError names the bad key."""
    source = Path(path) if path is not None else DEFAULT_SLO_FILE
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"SLO file {source} does not exist") from None
    except OSError as exc:
        raise ReportError(f"SLO file {source} cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReportError(f"SLO file {source} is not valid YAML: {exc}") from exc
    return parse_slo(data, str(source))


def _fail(where: str, key: str, problem: str) -> ReportError:
    return ReportError(f"SLO file {where}: {key}: {problem}")


def _number(where: str, key: str, value: Any, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, key, f"expected a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise _fail(where, key, f"must be >= {minimum}, got {value!r}")
    return float(value)


def _globs(where: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _fail(where, key, f"expected a string or a list of strings, got {value!r}")


def _mapping(where: str, key: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, key, f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise _fail(where, f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


_SETTINGS_KEYS = {
    "settings": {"window_s": "window_s", "good_minute_ratio": "good_minute_ratio"},
    "load": {
        "min_achieved_ratio": "min_achieved_ratio",
        "max_generator_cpu_percent": "max_generator_cpu_percent",
        "max_schedule_lag_p95_ms": "max_schedule_lag_p95_ms",
        "max_missed_ratio": "max_missed_ratio",
    },
    "recovery": {
        "error_rate": "recovery_error_rate",
        "latency_p95_ms": "recovery_latency_p95_ms",
        "sustain_s": "recovery_sustain_s",
    },
    "headroom": {"percentile": "headroom_percentile", "climb_ratio": "headroom_climb_ratio"},
    "baseline": {"tolerance": "baseline_tolerance", "fail_on_regression": "fail_on_regression"},
}


def _settings(where: str, data: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for section, keys in _SETTINGS_KEYS.items():
        block = _mapping(where, section, data.get(section), set(keys))
        for key, attr in keys.items():
            if key not in block:
                continue
            if attr == "fail_on_regression":
                if not isinstance(block[key], bool):
                    raise _fail(where, f"{section}.{key}", f"expected true or false, got {block[key]!r}")
                values[attr] = block[key]
            else:
                values[attr] = _number(where, f"{section}.{key}", block[key], minimum=0)
    if values.get("window_s", 1.0) <= 0:
        raise _fail(where, "settings.window_s", "must be > 0")
    return Settings(**values)


_OBJECTIVE_KEYS = {
    "name",
    "description",
    "metric",
    "max",
    "min",
    "warn",
    "journey",
    "endpoint",
    "exclude",
    "phase",
    "params",
    "regression_tolerance",
}


def _objective(where: str, index: int, item: Any, seen: set[str]) -> Objective:
    key = f"slos[{index}]"
    entry = _mapping(where, key, item, _OBJECTIVE_KEYS)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, f"{key}.name", "every SLO needs a non-empty name")
    key = f"slos[{index}] ({name})"
    if name in seen:
        raise _fail(where, f"{key}.name", "duplicate SLO name")
    seen.add(name)
    metric = entry.get("metric")
    match = _PERCENTILE.match(metric) if isinstance(metric, str) else None
    if not isinstance(metric, str) or (metric not in _SIMPLE_METRICS and not match):
        known = ", ".join([*sorted(_SIMPLE_METRICS), "latency_pNN_ms (e.g. latency_p95_ms)"])
        raise _fail(where, f"{key}.metric", f"unknown metric {metric!r} (known: {known})")
    if match and not 0 < float(match.group(1)) < 100:
        raise _fail(where, f"{key}.metric", f"percentile must be between 0 and 100, got {metric!r}")
    natural = _SIMPLE_METRICS.get(metric, "max")
    if ("max" in entry) == ("min" in entry):
        raise _fail(where, key, f"give exactly one of max or min (for {metric}, {natural})")
    direction = "max" if "max" in entry else "min"
    if direction != natural:
        raise _fail(where, f"{key}.{direction}", f"{metric} is bounded by {natural}, not {direction}")
    bound = _number(where, f"{key}.{direction}", entry[direction], minimum=0)
    warn = None
    if entry.get("warn") is not None:
        warn = _number(where, f"{key}.warn", entry["warn"], minimum=0)
        if (direction == "max" and warn > bound) or (direction == "min" and warn < bound):
            raise _fail(where, f"{key}.warn", f"warning level {warn:g} is beyond the failing level {bound:g}")
    phase = entry.get("phase", "all")
    if phase not in PHASES:
        raise _fail(where, f"{key}.phase", f"unknown phase {phase!r} (known: {', '.join(PHASES)})")
    params_in = _mapping(where, f"{key}.params", entry.get("params"), {"error_rate_max", "latency_p95_ms_max"})
    params = {k: _number(where, f"{key}.params.{k}", v, minimum=0) for k, v in params_in.items()}
    tolerance = entry.get("regression_tolerance")
    return Objective(
        name=name,
        metric=metric,
        bound=bound,
        direction=direction,
        warn=warn,
        description=str(entry.get("description") or ""),
        journeys=_globs(where, f"{key}.journey", entry.get("journey")),
        endpoints=_globs(where, f"{key}.endpoint", entry.get("endpoint")),
        exclude=_globs(where, f"{key}.exclude", entry.get("exclude")),
        phase=phase,
        params=params,
        regression_tolerance=None
        if tolerance is None
        else _number(where, f"{key}.regression_tolerance", tolerance, minimum=0),
    )


def _fault(where: str, index: int, item: Any) -> FaultSLO:
    key = f"faults[{index}]"
    keys = {"match", "error_rate_max", "error_rate_warn", "recovery_s_max", "recovery_s_warn"}
    entry = _mapping(where, key, item, keys)
    match = entry.get("match", "*")
    if not isinstance(match, str):
        raise _fail(where, f"{key}.match", f"expected a glob string, got {match!r}")
    nums = {k: _number(where, f"{key}.{k}", entry[k], minimum=0) for k in keys - {"match"} if k in entry}
    return FaultSLO(match=match, **nums)


def parse_slo(data: Any, where: str = "<slo>") -> SLOFile:
    """Validate the parsed YAML of an SLO file; `where` names the file in error messages."""
    top = _mapping(where, "top level", data, {"version", *_SETTINGS_KEYS, "slos", "faults", "integrity"})
    if not top:
        raise ReportError(f"SLO file {where} is empty")
    if top.get("version", 1) != 1:
        raise _fail(where, "version", f"unsupported version {top.get('version')!r} (supported: 1)")
    slos = top.get("slos") or []
    if not isinstance(slos, list):
        raise _fail(where, "slos", "expected a list of SLOs")
    settings = _settings(where, top)
    seen: set[str] = set()
    objectives = tuple(_objective(where, i, item, seen) for i, item in enumerate(slos))
    faults_in = top.get("faults") or []
    if not isinstance(faults_in, list):
        raise _fail(where, "faults", "expected a list of fault budgets")
    faults = tuple(_fault(where, i, item) for i, item in enumerate(faults_in))
    integrity: tuple[str, ...] | None = None
    if "integrity" in top:
        block = _mapping(where, "integrity", top["integrity"], {"invariants"})
        inv = block.get("invariants", "all")
        integrity = ("all",) if inv == "all" else _globs(where, "integrity.invariants", inv)
    if not objectives and not faults and integrity is None:
        raise _fail(where, "slos", "no SLOs, fault budgets or integrity checks: nothing to evaluate")
    return SLOFile(where, objectives, faults, integrity, settings)
