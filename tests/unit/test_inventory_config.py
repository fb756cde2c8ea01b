"""Inventory's settings come from the environment once, and nonsense fails naming the variable."""

from __future__ import annotations

import pytest

from retailflow.common.errors import ConfigError
from retailflow.inventory.config import InventorySettings


def test_defaults_hold_when_nothing_is_set() -> None:
    settings = InventorySettings.from_env({})
    assert (settings.default_ttl_s, settings.reconcile_interval_s, settings.legacy_timeout_s) == (600, 30.0, 2.0)


def test_values_are_read_typed() -> None:
    settings = InventorySettings.from_env({"RF_INVENTORY_TTL_S": "30", "RF_INVENTORY_RECONCILE_INTERVAL_S": "0"})
    assert settings.default_ttl_s == 30 and settings.reconcile_interval_s == 0.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RF_INVENTORY_TTL_S": "ten"}, "RF_INVENTORY_TTL_S='ten' is not a whole number"),
        ({"RF_INVENTORY_TTL_S": "0"}, "RF_INVENTORY_TTL_S=0 is below its minimum 1"),
        ({"RF_INVENTORY_LEGACY_TIMEOUT_S": "-1"}, "RF_INVENTORY_LEGACY_TIMEOUT_S=-1 is below its minimum 0.1"),
    ],
)
def test_nonsense_fails_loudly_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        InventorySettings.from_env(env)
