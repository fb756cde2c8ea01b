"""Wires the payments service's concrete adapters; the only module that knows them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.web import create_service_app
from retailflow.payments.adapters.provider import SimulatedProvider
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.entrypoints.http import ERROR_HANDLERS, routes

__all__ = ["create_app", "seed"]


def _store(config: ServiceConfig) -> PaymentStore:
    return PaymentStore(Database(config.store_url("payments"), schema="payments"))


def seed(config: ServiceConfig) -> None:
    """Create the tables and the provider's default settings (no fixtures to load)."""
    store = _store(config)
    store.db.connect()
    try:
        store.create_schema()
    finally:
        store.db.close()


def create_app(config: ServiceConfig) -> Starlette:
    store = _store(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store.db.connect()
        try:
            yield
        finally:
            store.db.close()

    async def store_ready() -> bool:
        return store.db.ping()

    return create_service_app(
        "payments",
        routes(store, SimulatedProvider()),
        ready_checks={"store": store_ready},
        lifespan=lifespan,
        max_body_bytes=config.max_body_bytes,
        error_handlers=ERROR_HANDLERS,
    )
