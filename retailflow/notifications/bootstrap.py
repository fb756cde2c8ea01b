"""Wires the notifications service's concrete adapters; the only module that knows them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from retailflow.common.bus import make_bus
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database, DatabaseError
from retailflow.common.handled import handled
from retailflow.common.web import create_service_app
from retailflow.notifications.adapters.store import NotificationStore
from retailflow.notifications.entrypoints.http import routes
from retailflow.notifications.service_layer.handlers import GROUP, TOPIC, OrderEventConsumer

__all__ = ["create_app", "seed"]

log = logging.getLogger("retailflow.notifications")


def _store(config: ServiceConfig) -> NotificationStore:
    return NotificationStore(Database(config.store_url("notifications"), schema="notifications"))


def seed(config: ServiceConfig) -> None:
    """Create the notifications table (no fixtures to load)."""
    store = _store(config)
    store.db.connect()
    try:
        store.create_schema()
    finally:
        store.db.close()


def create_app(config: ServiceConfig) -> Starlette:
    store = _store(config)
    bus = make_bus(config.bus_url, config.data_dir, config.bus_namespace)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store.db.connect()
        try:
            store.create_schema()
        except DatabaseError:
            log.warning("creating the notifications schema failed; assuming the seed job made it", exc_info=True)
        await bus.subscribe(TOPIC, GROUP, OrderEventConsumer(store))
        try:
            yield
        finally:
            try:
                await bus.close()
            except Exception as exc:  # shutting down anyway: say so, and close the store
                handled("bus.close", exc)
            store.db.close()

    async def store_ready() -> bool:
        return store.db.ping()

    return create_service_app(
        "notifications",
        routes(store),
        ready_checks={"store": store_ready, "bus": bus.ping},
        lifespan=lifespan,
        max_body_bytes=config.max_body_bytes,
    )
