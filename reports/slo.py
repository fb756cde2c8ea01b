"""The SLO file (YAML): validated by doorbuster.reports.slo_schema into dataclasses; errors name the file and key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from doorbuster.reports.errors import ReportError
from doorbuster.reports.slo_schema import LOAD_PHASES, PERCENTILE_METRIC, PHASES, SLOFileIn
from doorbuster.yamlfile import read_yaml

__all__ = [
    "DEFAULT_SLO_FILE",
    "LOAD_PHASES",
    "PHASES",
    "FaultSLO",
    "Objective",
    "SLOFile",
    "Settings",
    "load_slo_file",
    "parse_slo",
]


def _default_slo_path() -> Path:
    return Path(str(resources.files("doorbuster.fixtures").joinpath("slo.yaml")))


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
    subject: str = ""  # what a stakeholder calls the scope ("checkouts"); "" = derived from the scope
    min_requests: int = 20  # a breach on fewer requests in scope is not enough to call NO-GO

    @property
    def percentile(self) -> float | None:
        match = PERCENTILE_METRIC.match(self.metric)
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
    min_requests: int = 20
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
    return parse_slo(read_yaml(source, "SLO file", ReportError), str(source))


def _location(data: Any, loc: tuple[int | str, ...]) -> str:
    # ("slos", 0, "max") -> "slos[0] (checkout-p95).max": the SLO's name helps find it in a long file.
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str) and node["name"].strip():
                out += f" ({node['name']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _problem(error: ErrorDetails, allowed: tuple[str, ...]) -> str:
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "slo_key":
        return str(ctx["problem"])
    if kind in ("float_type", "int_type", "float_parsing", "int_parsing"):
        what = "a whole number" if kind.startswith("int") else "a number"
        return f"expected {what}, got {value!r}"
    if kind == "int_from_float":
        return f"expected a whole number, got {value!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {value!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"must be {sign} {limit:g}, got {value!r}"
    if kind == "extra_forbidden":
        return f"unknown key (allowed: {', '.join(sorted(allowed))})"
    if kind == "missing":
        return "required key missing"
    if kind == "bool_type":
        return f"expected true or false, got {value!r}"
    if kind in ("string_type", "tuple_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
        return f"expected {_EXPECTED.get(kind, kind)}, got {type(value).__name__} {value!r}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


_EXPECTED = {
    "string_type": "a string",
    "tuple_type": "a string or a list of strings",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _allowed_keys(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    # The keys of the section an unknown key sits in, for the error message.
    model: Any = SLOFileIn
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        args = [a for a in getattr(annotation, "__args__", ()) if isinstance(a, type)]
        candidates = [annotation, *args]
        model = next((a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return tuple(model.model_fields) if model is not None else ()


def _sentence(where: str, data: Any, exc: ValidationError) -> ReportError:
    first = exc.errors()[0]
    # Union branches add tags such as "literal['all']" to the location: they are not keys.
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or "(" in p)))
    if first["type"] == "slo_key":
        loc = (*loc, *_split_key(str((first.get("ctx") or {})["key"])))
    if first["type"] == "literal_error" and loc:
        problem = f"unknown {loc[-1]} {first.get('input')!r} (known: {(first.get('ctx') or {}).get('expected')})"
    else:
        problem = _problem(first, _allowed_keys(loc))
    return ReportError(f"SLO file {where}: {_location(data, loc) or 'top level'}: {problem}")


def _split_key(key: str) -> tuple[int | str, ...]:
    # "[3].name" -> (3, "name"); "params.error_rate_max" -> ("params", "error_rate_max")
    parts: list[int | str] = []
    for token in re.findall(r"\[(\d+)\]|([^.\[\]]+)", key):
        parts.append(int(token[0]) if token[0] else token[1])
    return tuple(parts)


def parse_slo(data: Any, where: str = "<slo>") -> SLOFile:
    """Validate the parsed YAML of an SLO file; `where` names the file in error messages."""
    if data is None or data == {}:
        raise ReportError(f"SLO file {where} is empty")
    if not isinstance(data, dict):
        raise ReportError(f"SLO file {where}: top level: expected a mapping, got {type(data).__name__}")
    try:
        parsed = SLOFileIn.model_validate(data)
    except ValidationError as exc:
        raise _sentence(where, data, exc) from None
    settings = Settings(
        window_s=parsed.settings.window_s,
        good_minute_ratio=parsed.settings.good_minute_ratio,
        min_requests=parsed.settings.min_requests,
        min_achieved_ratio=parsed.load.min_achieved_ratio,
        max_generator_cpu_percent=parsed.load.max_generator_cpu_percent,
        max_schedule_lag_p95_ms=parsed.load.max_schedule_lag_p95_ms,
        max_missed_ratio=parsed.load.max_missed_ratio,
        recovery_error_rate=parsed.recovery.error_rate,
        recovery_latency_p95_ms=parsed.recovery.latency_p95_ms,
        recovery_sustain_s=parsed.recovery.sustain_s,
        headroom_percentile=parsed.headroom.percentile,
        headroom_climb_ratio=parsed.headroom.climb_ratio,
        baseline_tolerance=parsed.baseline.tolerance,
        fail_on_regression=parsed.baseline.fail_on_regression,
    )
    objectives = tuple(
        Objective(
            name=o.name,
            metric=o.metric,
            bound=float(o.max if o.max is not None else o.min),  # type: ignore[arg-type]
            direction=o.direction,
            warn=o.warn,
            description=o.description,
            subject=o.subject,
            journeys=o.journey,
            endpoints=o.endpoint,
            exclude=o.exclude,
            phase=o.phase,
            params={str(k): v for k, v in o.params.items()},
            regression_tolerance=o.regression_tolerance,
            min_requests=o.min_requests or settings.min_requests,
        )
        for o in parsed.slos
    )
    faults = tuple(
        FaultSLO(f.match, f.error_rate_max, f.error_rate_warn, f.recovery_s_max, f.recovery_s_warn)
        for f in parsed.faults
    )
    integrity: tuple[str, ...] | None = None
    if parsed.integrity is not None:
        inv = parsed.integrity.invariants
        integrity = ("all",) if inv == "all" else tuple(inv)
    return SLOFile(where, objectives, faults, integrity, settings)
