"""Configuration enters once, typed, and fails naming the variable."""

from __future__ import annotations

import pytest

from retailflow.common.config import ServiceConfig
from retailflow.common.errors import ConfigError


def test_every_service_of_one_shop_agrees_on_its_bus_namespace_and_another_shop_differs() -> None:
    shop = {"RF_DATA_DIR": "/tmp/shop-a", "RF_DB_URL": "postgresql://127.0.0.1/a"}
    names = {ServiceConfig.from_env(s, shop).bus_namespace for s in ("inventory", "orders", "notifications")}
    other = ServiceConfig.from_env("orders", {**shop, "RF_DB_URL": "postgresql://127.0.0.1/b"}).bus_namespace
    assert len(names) == 1 and other not in names


def test_an_explicit_bus_namespace_wins() -> None:
    assert ServiceConfig.from_env("orders", {"RF_BUS_NAMESPACE": "gameday-7"}).bus_namespace == "gameday-7"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RF_PRODUCTS": "many"}, "RF_PRODUCTS='many' is not a whole number"),
        ({"RF_PRODUCTS": "0"}, "RF_PRODUCTS=0 is below its minimum 1"),
        ({"RF_DB_URL": "mysql://x"}, "RF_DB_URL='mysql://x' must start with one of postgresql://"),
        ({"RF_BUS_URL": "kafka://x"}, "RF_BUS_URL='kafka://x' must start with one of amqp://, nats://"),
    ],
)
def test_nonsense_in_the_environment_fails_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        ServiceConfig.from_env("orders", env)
    assert message in str(exc.value)


def test_an_unknown_service_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown service 'basket'; one of gateway, catalog"):
        ServiceConfig.from_env("basket", {})
