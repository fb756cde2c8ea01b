"""Inventory's own settings, read once from the environment (the shared ones are in common.config)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from retailflow.common.settings import Env, EnvSettings, settings_dataclass

__all__ = ["InventorySettings"]


@settings_dataclass
class InventorySettings(EnvSettings):
    # a checkout holds stock this long unless the caller says otherwise
    default_ttl_s: Annotated[int, Env("RF_INVENTORY_TTL_S"), Field(ge=1, le=86_400)] = 600
    # how often stale reservations are looked for
    expiry_interval_s: Annotated[float, Env("RF_INVENTORY_EXPIRY_INTERVAL_S"), Field(ge=0.05, le=3600)] = 1.0
    # periodic legacy reconciliation; 0 = only on demand
    reconcile_interval_s: Annotated[float, Env("RF_INVENTORY_RECONCILE_INTERVAL_S"), Field(ge=0, le=86_400)] = 30.0
    relay_poll_s: Annotated[float, Env("RF_INVENTORY_RELAY_POLL_S"), Field(ge=0.01, le=60)] = 0.1  # relay's idle poll
    # one legacy write; a partition costs at most this per attempt
    legacy_timeout_s: Annotated[float, Env("RF_INVENTORY_LEGACY_TIMEOUT_S"), Field(ge=0.1, le=60)] = 2.0
