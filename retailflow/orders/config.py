"""The orders service's own settings, read once from the environment with defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from retailflow.common.errors import ConfigError

__all__ = ["OrdersSettings"]


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below its minimum {minimum}")
    return value


@dataclass(frozen=True)
class OrdersSettings:
    reservation_ttl_s: int = 120  # a crashed saga's stock comes back after this at the latest
    stale_after_s: float = 60.0  # far longer than a live saga can take (a few upstream timeouts)
    recovery_interval_s: float = 10.0
    # Under the gateway's 10 s for orders, even with a retry and a compensating call after it.
    upstream_timeout_s: float = 2.0
    duplicate_wait_s: float = 8.0  # how long a duplicate placement waits for the first one's answer

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OrdersSettings:
        env = os.environ if env is None else env
        return cls(
            reservation_ttl_s=int(_number(env, "RF_RESERVATION_TTL_S", 120, 5)),
            stale_after_s=_number(env, "RF_ORDERS_STALE_AFTER_S", 60.0, 0.5),
            recovery_interval_s=_number(env, "RF_ORDERS_RECOVERY_INTERVAL_S", 10.0, 0.1),
            upstream_timeout_s=_number(env, "RF_UPSTREAM_TIMEOUT_S", 2.0, 0.1),
            duplicate_wait_s=_number(env, "RF_ORDERS_DUPLICATE_WAIT_S", 8.0, 0.0),
        )
