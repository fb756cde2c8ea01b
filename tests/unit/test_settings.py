"""Every service's RF_* settings go through one validator: typed, finite, bounded, and a mistake
is one sentence naming the variable and its value (never a traceback, never a silent rounding)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from retailflow.common.config import ServiceConfig
from retailflow.common.errors import ConfigError
from retailflow.gateway.settings import GatewaySettings
from retailflow.inventory.config import InventorySettings
from retailflow.orders.config import OrdersSettings

READERS: dict[str, Callable[[dict[str, str]], Any]] = {
    "common": lambda env: ServiceConfig.from_env("orders", env),
    "gateway": GatewaySettings.from_env,
    "inventory": InventorySettings.from_env,
    "orders": OrdersSettings.from_env,
}


@pytest.mark.parametrize(
    ("reader", "env", "message"),
    [
        ("gateway", {"RF_BREAKER_FAILURES": "2.5"}, "RF_BREAKER_FAILURES='2.5' is not a whole number"),
        ("gateway", {"RF_BREAKER_COOLDOWN_S": "nan"}, "RF_BREAKER_COOLDOWN_S='nan' is not a finite number"),
        ("gateway", {"RF_ORDERS_TIMEOUT_S": "inf"}, "RF_ORDERS_TIMEOUT_S='inf' is not a finite number"),
        ("gateway", {"RF_GATEWAY_STOCK_TTL_S": "-1"}, "RF_GATEWAY_STOCK_TTL_S=-1 is below its minimum 0"),
        ("inventory", {"RF_INVENTORY_TTL_S": "60.5"}, "RF_INVENTORY_TTL_S='60.5' is not a whole number"),
        ("inventory", {"RF_INVENTORY_RELAY_POLL_S": "-inf"}, "RF_INVENTORY_RELAY_POLL_S='-inf' is not a finite"),
        ("inventory", {"RF_INVENTORY_TTL_S": "100000"}, "RF_INVENTORY_TTL_S=100000 is above its maximum 86400"),
        ("orders", {"RF_RESERVATION_TTL_S": "1e3"}, "RF_RESERVATION_TTL_S='1e3' is not a whole number"),
        ("orders", {"RF_ORDERS_STALE_AFTER_S": "NaN"}, "RF_ORDERS_STALE_AFTER_S='NaN' is not a finite number"),
        ("orders", {"RF_UPSTREAM_TIMEOUT_S": "soon"}, "RF_UPSTREAM_TIMEOUT_S='soon' is not a number"),
        ("common", {"RF_REPLICA": "1.5"}, "RF_REPLICA='1.5' is not a whole number"),
        ("common", {"RF_REQUEST_READ_TIMEOUT_S": "inf"}, "RF_REQUEST_READ_TIMEOUT_S='inf' is not a finite"),
        ("common", {"RF_REQUEST_READ_TIMEOUT_S": "0"}, "RF_REQUEST_READ_TIMEOUT_S=0 must be greater than 0"),
        ("common", {"RF_MAX_BODY_BYTES": "10"}, "RF_MAX_BODY_BYTES=10 is below its minimum 1024"),
        ("common", {"RF_CACHE_URL": "memcached://x"}, "RF_CACHE_URL='memcached://x' must start with one of redis://"),
    ],
)
def test_nonsense_is_one_sentence_naming_the_variable(reader: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        READERS[reader](env)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_good_values_are_read_typed_and_blank_ones_keep_the_default() -> None:
    gateway = GatewaySettings.from_env({"RF_BREAKER_FAILURES": "3", "RF_BREAKER_COOLDOWN_S": " 2.5 ",
                                        "RF_RATE_LIMIT_RPS": ""})  # fmt: skip
    assert (gateway.breaker_failures, gateway.breaker_cooldown_s, gateway.rate_limit_rps) == (3, 2.5, 2000.0)
    assert gateway.rate_limit_burst == 2000.0  # unset: the rate
    orders = OrdersSettings.from_env({"RF_RESERVATION_TTL_S": "30", "RF_ORDERS_DUPLICATE_WAIT_S": "0"})
    assert (orders.reservation_ttl_s, orders.duplicate_wait_s, orders.stale_after_s) == (30, 0.0, 60.0)
    config = ServiceConfig.from_env("gateway", {"RF_REQUEST_READ_TIMEOUT_S": "0.5", "RF_LOG_LEVEL": "debug",
                                                "DOORBUSTER_DATA_DIR": "/tmp/shop"})  # fmt: skip
    assert (config.read_timeout_s, config.log_level, str(config.data_dir)) == (0.5, "DEBUG", "/tmp/shop")
    assert str(ServiceConfig.from_env("gateway", {"RF_DATA_DIR": "/a", "DOORBUSTER_DATA_DIR": "/b"}).data_dir) == "/a"


def test_settings_built_in_code_are_validated_too() -> None:
    with pytest.raises(ValueError, match="finite number"):
        GatewaySettings(stock_ttl_s=float("nan"))
