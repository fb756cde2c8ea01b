"""Settings from the environment, validated by pydantic: one way for every service and every `RF_*`.

A settings class is a frozen pydantic dataclass whose fields name their variable:

    @settings_dataclass
    class OrdersSettings(EnvSettings):
        stale_after_s: Annotated[float, Env("RF_ORDERS_STALE_AFTER_S"), Field(ge=0.5)] = 60.0

    OrdersSettings()                  # the defaults
    OrdersSettings.from_env(env)      # each set, non-empty variable, typed and checked

Types are strict where it matters: "2.5" is not a whole number, and nan or inf are not numbers
of seconds. Nonsense raises ConfigError with one sentence naming the variable and its value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import pydantic.dataclasses
from pydantic import ConfigDict, ValidationError

from retailflow.common.errors import ConfigError

__all__ = ["Env", "EnvSettings", "from_env", "settings_dataclass"]

T = TypeVar("T")

# Finite numbers only; a typo'd variable name in code (extra="forbid") fails in tests, not in prod.
_CONFIG = ConfigDict(allow_inf_nan=False, extra="forbid", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class Env:
    """Marks a field as read from the environment variable `name`."""

    name: str


def settings_dataclass(cls: type[T]) -> type[T]:
    """A frozen dataclass whose fields pydantic validates, whether built in code or from the environment."""
    made: Callable[[type[T]], type[T]] = pydantic.dataclasses.dataclass(frozen=True, config=_CONFIG)
    return made(cls)


class EnvSettings:
    """Base of a service's own settings class: `from_env` is `from_env(cls, env)`, written once."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        return from_env(cls, env)


def _variables(cls: type[Any]) -> dict[str, str]:
    """Field name → the environment variable it is read from."""
    names = {}
    for field_name, info in cls.__pydantic_fields__.items():
        for marker in info.metadata:
            if isinstance(marker, Env):
                names[field_name] = marker.name
    return names


def from_env(cls: type[T], env: Mapping[str, str] | None = None, **values: Any) -> T:
    """`cls` from each of its variables that is set and not empty; `values` are given by the caller."""
    env = os.environ if env is None else env
    given: dict[str, str] = {}  # field name → the variable it came from, for the message
    for field_name, variable in _variables(cls).items():
        raw = env.get(variable)
        if raw is not None and raw.strip() != "":
            values[field_name] = raw.strip()
            given[field_name] = variable
    try:
        return cls(**values)
    except ValidationError as exc:
        raise ConfigError(_sentence(exc, given, values)) from None


_WHOLE = "{name}={raw!r} is not a whole number"
_NUMBER = "{name}={raw!r} is not a number"
# pydantic's error type → the sentence a user reads; the rest get pydantic's own words
_SENTENCES = {
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_type": _WHOLE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": "{name}={raw!r} is not a finite number",
    "greater_than_equal": "{name}={raw} is below its minimum {ge}",
    "greater_than": "{name}={raw} must be greater than {gt}",
    "less_than_equal": "{name}={raw} is above its maximum {le}",
    "less_than": "{name}={raw} must be less than {lt}",
    "value_error": "{name}={raw!r} {error}",
}


def _sentence(exc: ValidationError, given: Mapping[str, str], values: Mapping[str, Any]) -> str:
    """The first problem as one sentence: `RF_X='2.5' is not a whole number`."""
    error = exc.errors()[0]
    field_name = str(error["loc"][0]) if error["loc"] else ""
    name = given.get(field_name, field_name)
    raw = values.get(field_name, error.get("input"))
    template = _SENTENCES.get(error["type"], "{name}={raw!r}: {msg}")
    # the context names the bound (ge, le, ...) or, for a validator's own refusal, the error
    return template.format(
        **{"error": error["msg"], **(error.get("ctx") or {}), "name": name, "raw": raw, "msg": error["msg"]}
    )
