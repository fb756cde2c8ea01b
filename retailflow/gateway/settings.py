"""The gateway's own knobs, read once from the environment; nonsense fails naming the variable."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from retailflow.common.settings import Env, EnvSettings, settings_dataclass

__all__ = ["UPSTREAMS", "GatewaySettings"]

UPSTREAMS = ("catalog", "inventory", "orders")


@settings_dataclass
class GatewaySettings(EnvSettings):
    # per client IP and replica; 0 turns the limiter off
    rate_limit_rps: Annotated[float, Env("RF_RATE_LIMIT_RPS"), Field(ge=0)] = 2000.0
    rate_limit_burst: Annotated[float | None, Env("RF_RATE_LIMIT_BURST"), Field(ge=1)] = None
    breaker_failures: Annotated[int, Env("RF_BREAKER_FAILURES"), Field(ge=1)] = 5  # consecutive, to open a circuit
    breaker_cooldown_s: Annotated[float, Env("RF_BREAKER_COOLDOWN_S"), Field(ge=0)] = 5.0  # open → half-open
    # extra attempts of an idempotent call, each on a fresh connection when one died
    retries: Annotated[int, Env("RF_UPSTREAM_RETRIES"), Field(ge=0)] = 2
    catalog_timeout_s: Annotated[float, Env("RF_CATALOG_TIMEOUT_S"), Field(ge=0.05)] = 2.0
    inventory_timeout_s: Annotated[float, Env("RF_INVENTORY_TIMEOUT_S"), Field(ge=0.05)] = 2.0
    # placing an order runs a saga through inventory and payments, whose latency is settable
    orders_timeout_s: Annotated[float, Env("RF_ORDERS_TIMEOUT_S"), Field(ge=0.05)] = 10.0
    # catalog answers (products, categories, search) kept this long
    cache_ttl_s: Annotated[float, Env("RF_GATEWAY_CACHE_TTL_S"), Field(ge=0)] = 10.0
    # stock of ordinary SKUs shown on pages and /api/products/{sku}; a doorbuster's is never kept
    stock_ttl_s: Annotated[float, Env("RF_GATEWAY_STOCK_TTL_S"), Field(ge=0)] = 1.0

    def __post_init__(self) -> None:
        if self.rate_limit_burst is None:  # unset: a client may spend one second's worth of the rate at once
            object.__setattr__(self, "rate_limit_burst", max(self.rate_limit_rps, 1.0))

    @property
    def burst(self) -> float:
        assert self.rate_limit_burst is not None  # set by __post_init__
        return self.rate_limit_burst

    @property
    def timeouts_s(self) -> dict[str, float]:
        return {"catalog": self.catalog_timeout_s, "inventory": self.inventory_timeout_s,
                "orders": self.orders_timeout_s}  # fmt: skip
