"""Traffic profiles (fixtures/profiles/*.yaml): the size of 1x peak, the mix, think times.

Validated by pydantic models on load: an unknown key, a wrong type, nan or inf, a share
outside [0, 1] or an impossible value is a ProfileError whose message names the file and
the key (`think_time_s.max`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from doorbuster import fixtures
from doorbuster.load.errors import ProfileError
from doorbuster.yamlfile import read_yaml

__all__ = ["PROFILES_DIR", "Profile", "load_profile", "profile_from_dict"]

PROFILES_DIR = Path(fixtures.__file__).resolve().parent / "profiles"
PROFILE_ENV = "DOORBUSTER_PROFILE"

# Numbers a YAML file may spell `.nan` or `.inf`: refused by allow_inf_nan=False.
Number = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no "40" for 40, no true for 1


class ThinkTime(_Strict):
    min: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.5
    max: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _max_not_below_min(self) -> ThinkTime:
        if self.max is None:
            self.max = max(2.0, self.min)
        if self.max < self.min:
            raise ValueError(f"think_time_s.max ({self.max}) is below think_time_s.min ({self.min})")
        return self


class Search(_Strict):
    miss_share: Share = 0.1  # queries for things the shop does not sell
    typo_share: Share = 0.1  # real terms with a typo


class Pacing(_Strict):
    headroom: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.5
    expected_latency_ms: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 80.0
    max_users: Annotated[StrictInt, Field(ge=1)] = 5000  # the elastic pool's cap (k6's maxVUs)


class ProfileDocument(_Strict):
    """A profile file as written; `Profile` is what the engine reads."""

    name: Annotated[str, Field(min_length=1)] | None = None
    one_x_rps: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    mix: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(min_length=1)
    think_time_s: ThinkTime = ThinkTime()
    doorbuster_share: Share = 0.3
    seed: StrictInt = 0
    search: Search = Search()
    pacing: Pacing = Pacing()

    @field_validator("mix")
    @classmethod
    def _some_weight(cls, mix: dict[str, float]) -> dict[str, float]:
        if sum(mix.values()) <= 0:
            raise ValueError("mix weights sum to 0; at least one journey needs a positive weight")
        return mix


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    one_x_rps: float
    mix: dict[str, float]  # journey -> share of iterations, normalised to sum 1
    think_min_s: float
    think_max_s: float
    doorbuster_share: float
    seed: int
    search_miss_share: float = 0.1
    search_typo_share: float = 0.1
    headroom: float = 1.5
    expected_latency_ms: float = 80.0
    max_users: int = 5000  # per run: the elastic pool's cap (k6's maxVUs)
    source: str = "<dict>"

    @property
    def mean_think_s(self) -> float:
        return (self.think_min_s + self.think_max_s) / 2

    def as_dict(self) -> dict[str, Any]:
        """The profile as meta.json records it (and as profile_from_dict reads it back)."""
        return {
            "name": self.name,
            "one_x_rps": self.one_x_rps,
            "mix": dict(self.mix),
            "think_time_s": {"min": self.think_min_s, "max": self.think_max_s},
            "doorbuster_share": self.doorbuster_share,
            "seed": self.seed,
            "search": {"miss_share": self.search_miss_share, "typo_share": self.search_typo_share},
            "pacing": {
                "headroom": self.headroom,
                "expected_latency_ms": self.expected_latency_ms,
                "max_users": self.max_users,
            },
        }


def load_profile(ref: str | os.PathLike[str] | None = None) -> Profile:
    """Load a profile by path, or by name from fixtures/profiles/ (default: $DOORBUSTER_PROFILE or
    `default`)."""
    ref = ref or os.environ.get(PROFILE_ENV) or "default"
    path = _resolve(str(ref))
    return profile_from_dict(read_yaml(path, "profile", ProfileError), source=str(path))


def _resolve(ref: str) -> Path:
    if os.sep in ref or ref.endswith((".yaml", ".yml")):
        return Path(ref)
    path = PROFILES_DIR / f"{ref}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise ProfileError(f"profile {ref!r}: no such profile in {PROFILES_DIR} (known: {', '.join(known)})")
    return path


def _message(error: Any) -> str:
    """One pydantic error as `key.path: what is wrong (got value)`."""
    path = ".".join(str(part) for part in error["loc"])
    kind, text = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        return f"unknown key {path}"
    if kind == "missing":
        return f"missing required key {path!r}"
    text = text.removeprefix("Value error, ")
    if kind == "value_error":  # our own validators write whole sentences
        return text
    got = error.get("input")
    return f"{path}: {text[0].lower()}{text[1:]}, got {got!r}" if path else f"{text}, got {got!r}"


def profile_from_dict(data: Any, *, source: str = "<dict>") -> Profile:
    """Validate a parsed profile document and return the Profile."""
    where = f"profile {source}"
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        doc = ProfileDocument.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{where}: " + "; ".join(_message(e) for e in exc.errors())) from None
    total = sum(doc.mix.values())
    assert doc.think_time_s.max is not None  # set by its validator
    return Profile(
        name=doc.name or Path(source).stem,
        one_x_rps=doc.one_x_rps,
        mix={journey: weight / total for journey, weight in doc.mix.items()},
        think_min_s=doc.think_time_s.min,
        think_max_s=doc.think_time_s.max,
        doorbuster_share=doc.doorbuster_share,
        seed=doc.seed,
        search_miss_share=doc.search.miss_share,
        search_typo_share=doc.search.typo_share,
        headroom=doc.pacing.headroom,
        expected_latency_ms=doc.pacing.expected_latency_ms,
        max_users=doc.pacing.max_users,
        source=source,
    )
