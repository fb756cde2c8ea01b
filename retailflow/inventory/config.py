"""Inventory's own settings, read once from the environment (the shared ones are in common.config)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from retailflow.common.errors import ConfigError

__all__ = ["InventorySettings"]


def _number(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} must be between {minimum} and {maximum}")
    return value


@dataclass(frozen=True)
class InventorySettings:
    default_ttl_s: int = 600  # a checkout holds stock this long unless the caller says otherwise
    expiry_interval_s: float = 1.0  # how often stale reservations are looked for
    reconcile_interval_s: float = 30.0  # periodic legacy reconciliation; 0 = only on demand
    relay_poll_s: float = 0.1  # legacy_sync relay's idle poll
    legacy_timeout_s: float = 2.0  # one legacy write; a partition costs at most this per attempt

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InventorySettings:
        env = os.environ if env is None else env
        return cls(
            default_ttl_s=int(_number(env, "RF_INVENTORY_TTL_S", 600, 1, 86_400)),
            expiry_interval_s=_number(env, "RF_INVENTORY_EXPIRY_INTERVAL_S", 1.0, 0.05, 3600),
            reconcile_interval_s=_number(env, "RF_INVENTORY_RECONCILE_INTERVAL_S", 30.0, 0, 86_400),
            relay_poll_s=_number(env, "RF_INVENTORY_RELAY_POLL_S", 0.1, 0.01, 60),
            legacy_timeout_s=_number(env, "RF_INVENTORY_LEGACY_TIMEOUT_S", 2.0, 0.1, 60),
        )
