"""Wires the payments service's concrete adapters; the only module that knows them."""

from __future__ import annotations

from starlette.applications import Starlette

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.store_app import create_store_app, seed_schema
from retailflow.payments.adapters.provider import SimulatedProvider
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.entrypoints.http import ERROR_HANDLERS, routes

__all__ = ["create_app", "seed"]


def _store(config: ServiceConfig) -> PaymentStore:
    return PaymentStore(Database(config.store_url("payments"), schema="payments"))


def seed(config: ServiceConfig) -> None:
    """Create the tables and the provider's default settings (no fixtures to load)."""
    seed_schema(_store(config))


def create_app(config: ServiceConfig) -> Starlette:
    store = _store(config)
    return create_store_app(
        "payments", routes(store, SimulatedProvider()), store.db, config, error_handlers=ERROR_HANDLERS
    )
