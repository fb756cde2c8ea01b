"""Traffic profiles (fixtures/profiles/*.yaml): the size of 1x peak, the mix, think times.

Validated on load: an unknown key, a wrong type or an impossible value is a ProfileError
whose message names the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

import fixtures
from doorbuster.load.errors import ProfileError

__all__ = ["PROFILES_DIR", "Profile", "load_profile", "profile_from_dict"]

PROFILES_DIR = Path(fixtures.__file__).resolve().parent / "profiles"
PROFILE_ENV = "DOORBUSTER_PROFILE"

_TOP_KEYS = {
    "name",
    "one_x_rps",
    "mix",
    "think_time_s",
    "doorbuster_share",
    "seed",
    "search",
    "pacing",
}


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
            "pacing": {"headroom": self.headroom, "expected_latency_ms": self.expected_latency_ms},
        }


def load_profile(ref: str | os.PathLike[str] | None = None) -> Profile:
    """Load a profile by path, or by name from fixtures/profiles/ (default: $DOORBUSTER_PROFILE or
    `default`)."""
    ref = ref or os.environ.get(PROFILE_ENV) or "default"
    path = _resolve(str(ref))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read it ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {path}: not valid YAML ({exc})") from exc
    return profile_from_dict(data, source=str(path))


def _resolve(ref: str) -> Path:
    if os.sep in ref or ref.endswith((".yaml", ".yml")):
        return Path(ref)
    path = PROFILES_DIR / f"{ref}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise ProfileError(f"profile {ref!r}: no such profile in {PROFILES_DIR} (known: {', '.join(known)})")
    return path


def profile_from_dict(data: Any, *, source: str = "<dict>") -> Profile:
    """Validate a parsed profile document and return the Profile."""
    where = f"profile {source}"
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("one_x_rps", "mix"):
        if key not in data:
            raise ProfileError(f"{where}: missing required key {key!r}")

    one_x = _number(data, "one_x_rps", where, minimum=0, exclusive=True)
    mix = _mix(data["mix"], where)
    think = _sub(data, "think_time_s", {"min", "max"}, where)
    think_min = _number(think, "min", where, default=0.5, minimum=0, path="think_time_s.min")
    think_max = _number(think, "max", where, default=max(2.0, think_min), minimum=0, path="think_time_s.max")
    if think_max < think_min:
        raise ProfileError(f"{where}: think_time_s.max ({think_max}) is below think_time_s.min ({think_min})")
    search = _sub(data, "search", {"miss_share", "typo_share"}, where)
    pacing = _sub(data, "pacing", {"headroom", "expected_latency_ms"}, where)
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ProfileError(f"{where}: seed must be an integer, got {seed!r}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ProfileError(f"{where}: name must be a non-empty string, got {name!r}")
    return Profile(
        name=name,
        one_x_rps=one_x,
        mix=mix,
        think_min_s=think_min,
        think_max_s=think_max,
        doorbuster_share=_share(data, "doorbuster_share", where, default=0.3),
        seed=seed,
        search_miss_share=_share(search, "miss_share", where, default=0.1, path="search.miss_share"),
        search_typo_share=_share(search, "typo_share", where, default=0.1, path="search.typo_share"),
        headroom=_number(pacing, "headroom", where, default=1.5, minimum=1, path="pacing.headroom"),
        expected_latency_ms=_number(
            pacing, "expected_latency_ms", where, default=80.0, minimum=0, path="pacing.expected_latency_ms"
        ),
        source=source,
    )


def _sub(data: Mapping[str, Any], key: str, known: set[str], where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProfileError(f"{where}: {key} must be a mapping, got {value!r}")
    unknown = sorted(set(value) - known)
    if unknown:
        raise ProfileError(
            f"{where}: unknown key(s) {', '.join(f'{key}.{k}' for k in unknown)} (known: {', '.join(sorted(known))})"
        )
    return value


def _number(
    data: Mapping[str, Any],
    key: str,
    where: str,
    *,
    default: float | None = None,
    minimum: float | None = None,
    exclusive: bool = False,
    path: str | None = None,
) -> float:
    path = path or key
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{where}: {path} must be a number, got {value!r}")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        relation = "above" if exclusive else "at least"
        raise ProfileError(f"{where}: {path} must be {relation} {minimum}, got {value!r}")
    return float(value)


def _share(data: Mapping[str, Any], key: str, where: str, *, default: float, path: str | None = None) -> float:
    value = _number(data, key, where, default=default, minimum=0, path=path)
    if value > 1:
        raise ProfileError(f"{where}: {path or key} is a share between 0 and 1, got {value!r}")
    return value


def _mix(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ProfileError(f"{where}: mix must be a non-empty mapping of journey -> weight, got {value!r}")
    weights: dict[str, float] = {}
    for journey in value:
        if not isinstance(journey, str):
            raise ProfileError(f"{where}: mix key {journey!r} must be a journey name")
        weights[journey] = _number(value, journey, where, minimum=0, path=f"mix.{journey}")
    total = sum(weights.values())
    if total <= 0:
        raise ProfileError(f"{where}: mix weights sum to 0; at least one journey needs a positive weight")
    return {journey: weight / total for journey, weight in weights.items()}
