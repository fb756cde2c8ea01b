"""Wires the notifications service's concrete adapters; the only module that knows them."""

from __future__ import annotations

from starlette.applications import Starlette

from retailflow.common.bus import make_bus
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.store_app import close_bus, create_schema_unless_seeded, create_store_app, seed_schema
from retailflow.notifications.adapters.store import NotificationStore
from retailflow.notifications.entrypoints.http import routes
from retailflow.notifications.service_layer.handlers import GROUP, TOPIC, OrderEventConsumer

__all__ = ["create_app", "seed"]


def _store(config: ServiceConfig) -> NotificationStore:
    return NotificationStore(Database(config.store_url("notifications"), schema="notifications"))


def seed(config: ServiceConfig) -> None:
    """Create the notifications table (no fixtures to load)."""
    seed_schema(_store(config))


def create_app(config: ServiceConfig) -> Starlette:
    store = _store(config)
    bus = make_bus(config.bus_url, config.data_dir, config.bus_namespace)

    async def start() -> None:
        create_schema_unless_seeded("notifications", store.create_schema)
        await bus.subscribe(TOPIC, GROUP, OrderEventConsumer(store))

    return create_store_app(
        "notifications",
        routes(store),
        store.db,
        config,
        ready_checks={"bus": bus.ping},
        on_start=start,
        on_stop=lambda: close_bus(bus),
    )
