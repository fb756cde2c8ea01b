"""The orders service's own settings, read once from the environment with defaults."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from retailflow.common.settings import Env, EnvSettings, settings_dataclass

__all__ = ["OrdersSettings"]


@settings_dataclass
class OrdersSettings(EnvSettings):
    # a crashed saga's stock comes back after this at the latest
    reservation_ttl_s: Annotated[int, Env("RF_RESERVATION_TTL_S"), Field(ge=5)] = 120
    # far longer than a live saga can take (a few upstream timeouts)
    stale_after_s: Annotated[float, Env("RF_ORDERS_STALE_AFTER_S"), Field(ge=0.5)] = 60.0
    recovery_interval_s: Annotated[float, Env("RF_ORDERS_RECOVERY_INTERVAL_S"), Field(ge=0.1)] = 10.0
    # Under the gateway's 10 s for orders, even with a retry and a compensating call after it.
    upstream_timeout_s: Annotated[float, Env("RF_UPSTREAM_TIMEOUT_S"), Field(ge=0.1)] = 2.0
    # how long a duplicate placement waits for the first one's answer
    duplicate_wait_s: Annotated[float, Env("RF_ORDERS_DUPLICATE_WAIT_S"), Field(ge=0)] = 8.0
