"""Wires the legacy store's concrete adapters; the only module that knows them."""

from __future__ import annotations

from starlette.applications import Starlette

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.store_app import create_store_app, opened
from retailflow.legacy.adapters.store import LegacyStock, LegacyStore
from retailflow.legacy.entrypoints.http import routes

__all__ = ["create_app", "seed"]


def _store(config: ServiceConfig) -> LegacyStore:
    return LegacyStore(Database(config.store_url("legacy"), schema="legacy"))


def seed(config: ServiceConfig) -> None:
    """The monolith already holds the catalog's initial stock when the migration starts."""
    from retailflow.seed.catalog import generate

    store = _store(config)
    with opened(store.db):
        store.create_schema()
        if store.is_empty():
            catalog = generate(seed=config.seed, products=config.products)
            store.load(LegacyStock(sku, units, 0, 0, 0) for sku, units in catalog.stock.items())


def create_app(config: ServiceConfig) -> Starlette:
    store = _store(config)
    return create_store_app("legacy", routes(store), store.db, config)
