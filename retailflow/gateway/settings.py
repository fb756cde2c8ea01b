"""The gateway's own knobs, read once from the environment; nonsense fails naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from retailflow.common.errors import ConfigError

__all__ = ["UPSTREAMS", "GatewaySettings"]

UPSTREAMS = ("catalog", "inventory", "orders")
# placing an order runs a saga through inventory and payments, whose latency is settable
DEFAULT_TIMEOUTS_S = {"catalog": 2.0, "inventory": 2.0, "orders": 10.0}


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw} is below its minimum {minimum:g}")
    return value


@dataclass(frozen=True)
class GatewaySettings:
    rate_limit_rps: float = 2000.0  # per client IP and replica; 0 turns the limiter off
    rate_limit_burst: float = 2000.0
    breaker_failures: int = 5  # consecutive failures that open a circuit
    breaker_cooldown_s: float = 5.0  # open → half-open
    retries: int = 2  # extra attempts of an idempotent call, each on a fresh connection when one died
    timeouts_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS_S))
    cache_ttl_s: float = 10.0  # catalog answers (products, categories, search) kept this long
    stock_ttl_s: float = 1.0  # stock shown on pages and /api/products/{sku}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        rps = _number(env, "RF_RATE_LIMIT_RPS", 2000.0, 0)
        return cls(
            rate_limit_rps=rps,
            rate_limit_burst=_number(env, "RF_RATE_LIMIT_BURST", max(rps, 1.0), 1),
            breaker_failures=int(_number(env, "RF_BREAKER_FAILURES", 5, 1)),
            breaker_cooldown_s=_number(env, "RF_BREAKER_COOLDOWN_S", 5.0, 0),
            retries=int(_number(env, "RF_UPSTREAM_RETRIES", 2, 0)),
            timeouts_s={
                name: _number(env, f"RF_{name.upper()}_TIMEOUT_S", default, 0.05)
                for name, default in DEFAULT_TIMEOUTS_S.items()
            },
            cache_ttl_s=_number(env, "RF_GATEWAY_CACHE_TTL_S", 10.0, 0),
            stock_ttl_s=_number(env, "RF_GATEWAY_STOCK_TTL_S", 1.0, 0),
        )
