"""Game day profiles (fixtures/gamedays/*.yaml): traffic, shape, chaos schedule, stop conditions.

A profile is validated in full before anything starts; an unknown key, a wrong type or an
impossible value is a GamedayError whose message names the file and the key, e.g.
`fixtures/gamedays/ci.yaml: chaos[1].at: duration '5x': expected a duration such as 90s`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from doorbuster.durations import DurationError, parse_duration
from doorbuster.gameday.errors import GamedayError

__all__ = [
    "GAMEDAYS_DIR",
    "ChaosEntry",
    "ErrorRateStop",
    "GamedayProfile",
    "IntegrityStop",
    "LatencyStop",
    "StopCondition",
    "available_gamedays",
    "load_gameday",
]

GAMEDAYS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "gamedays"

# Invariants that hold at every instant, even with sagas in flight and the dual-write behind:
# the ones a probe may check while the load runs (legacy_convergence needs the load to stop).
LIVE_INVARIANTS = ("stock_conservation", "no_negative_stock", "no_double_capture", "no_double_confirmation")


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _ratio(value: Any) -> float:
    """`0.05`, `5%` or `"5 %"` -> 0.05."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                return float(text[:-1].strip()) / 100.0
            except ValueError:
                raise ValueError(f"{value!r} is not a percentage like 5%") from None
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a ratio like 0.05 or a percentage like 5%") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a ratio like 0.05 or a percentage like 5%")
    return float(value)


Duration = Annotated[float, BeforeValidator(_duration)]
Ratio = Annotated[float, BeforeValidator(_ratio), Field(gt=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ChaosEntry(_Model):
    """One experiment of the schedule: when it starts (an offset into the load, or a load step
    reached plus `after`), its variables, and the bound of its process."""

    experiment: str = Field(min_length=1)
    at: Duration | None = None
    at_step: str | None = None
    after: Annotated[float, BeforeValidator(lambda v: 0.0 if v in (0, "0", "0s") else _duration(v))] = 0.0
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)
    timeout: Duration = 180.0

    @field_validator("at_step")
    @classmethod
    def _step_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+(\.\d+)?x", value):
            raise ValueError(f"{value!r} is not a load step like 5x")
        return value

    @model_validator(mode="after")
    def _one_start(self) -> ChaosEntry:
        if (self.at is None) == (self.at_step is None):
            raise ValueError("give exactly one of `at` (an offset into the load) or `at_step` (a load step, e.g. 5x)")
        return self

    @property
    def when(self) -> str:
        if self.at is not None:
            return f"+{self.at:g}s"
        return f"at {self.at_step}" + (f" +{self.after:g}s" if self.after else "")


class ErrorRateStop(_Model):
    """Stop when more than `above` of the requests answered in the last `for` seconds failed (k6's
    abortOnFail, an FIS alarm): a share of a sliding window, not a rate that must hold for `for` s."""

    kind: Literal["error_rate"]
    name: str = "error-rate"
    above: Ratio
    for_s: Duration = Field(alias="for")
    min_requests: int = Field(default=20, ge=1)  # a window with fewer requests proves nothing


class LatencyStop(_Model):
    """Stop when the p95 latency stays above `above_ms` for `for` seconds."""

    kind: Literal["latency_p95"]
    name: str = "latency-p95"
    above_ms: float = Field(gt=0)
    for_s: Duration = Field(alias="for")


class IntegrityStop(_Model):
    """Stop when the shop's audit finds an invariant broken on `consecutive` probes in a row."""

    kind: Literal["integrity"]
    name: str = "integrity"
    invariants: tuple[str, ...] = ("stock_conservation", "no_negative_stock")
    every: Duration = 15.0
    consecutive: int = Field(default=2, ge=1)  # one probe may read a store between two writes

    @field_validator("invariants")
    @classmethod
    def _live(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in LIVE_INVARIANTS]
        if unknown or not value:
            raise ValueError(
                f"{', '.join(unknown) or 'nothing'}: not an invariant a probe can check while the load runs "
                f"(known: {', '.join(LIVE_INVARIANTS)})"
            )
        return value


StopCondition = Annotated[ErrorRateStop | LatencyStop | IntegrityStop, Field(discriminator="kind")]


class GamedayProfile(_Model):
    """What a game day runs: a traffic profile and shape, experiments inside it, when to stop."""

    name: str
    description: str = ""
    traffic_profile: str = "default"
    shape: str = "ramp"
    shape_args: dict[str, str | int | float | list[float]] = Field(default_factory=dict)
    run_time: Duration | None = None  # caps the shape
    products: int = Field(default=10_000, ge=100)
    slo: str | None = None
    chaos: tuple[ChaosEntry, ...] = ()
    stop_conditions: tuple[StopCondition, ...] = ()
    source: str = "<dict>"

    @property
    def shape_args_text(self) -> str:
        """The shape arguments as `doorbuster load --shape-args` spells them (lists with `/`)."""
        parts = []
        for key, value in self.shape_args.items():
            text = "/".join(f"{v:g}" for v in value) if isinstance(value, list) else str(value)
            parts.append(f"{key}={text}")
        return ",".join(parts)


def available_gamedays() -> list[str]:
    return sorted(p.stem for p in GAMEDAYS_DIR.glob("*.yaml"))


def _resolve(ref: str) -> Path:
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise GamedayError(f"game day profile {ref}: no such file")
        return path
    candidate = GAMEDAYS_DIR / f"{ref}.yaml"
    if not candidate.is_file():
        raise GamedayError(
            f"game day {ref!r}: unknown (known: {', '.join(available_gamedays())}; or a path to a YAML file)"
        )
    return candidate


def _key(loc: tuple[int | str, ...]) -> str:
    """('chaos', 1, 'at') -> 'chaos[1].at'; the discriminator's own branch name is dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("error_rate", "latency_p95", "integrity") and out.endswith("]"):
            continue
        else:
            out += ("." if out else "") + ("for" if part == "for_s" else str(part))
    return out or "(top level)"


def _message(error: Any) -> str:
    text = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key missing"
    return text


def parse_gameday(data: Any, source: str) -> GamedayProfile:
    if not isinstance(data, dict):
        raise GamedayError(f"{source}: expected a mapping of keys (name, traffic_profile, shape, chaos, ...)")
    try:
        return GamedayProfile.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise GamedayError(f"{source}: {_key(first['loc'])}: {_message(first)}{more}") from None


def load_gameday(ref: str) -> GamedayProfile:
    """A game day by name (fixtures/gamedays/NAME.yaml) or by path."""
    path = _resolve(ref)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GamedayError(f"game day profile {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise GamedayError(f"game day profile {path}: not valid YAML ({exc})") from None
    return parse_gameday(data, _display(path))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(GAMEDAYS_DIR.parents[1]))
        except ValueError:
            return str(path)
