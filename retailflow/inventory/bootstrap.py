"""Wires inventory's concrete adapters and background tasks; the only module that knows them all."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Gauge
from starlette.applications import Starlette

from retailflow.common.background import BackgroundTasks
from retailflow.common.bus import make_bus
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.handled import handled
from retailflow.common.outbox import OutboxRelay
from retailflow.common.store_app import create_store_app, opened
from retailflow.common.upstream import Upstream
from retailflow.inventory.adapters.legacy_client import HttpLegacyClient
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.config import InventorySettings
from retailflow.inventory.domain.model import Stock
from retailflow.inventory.entrypoints.http import ERROR_HANDLERS, routes
from retailflow.inventory.service_layer.handlers import InventoryHandlers
from retailflow.inventory.service_layer.legacy_sync import LegacyReconciler, LegacySyncRelay, sync_status

__all__ = ["create_app", "seed", "store"]

log = logging.getLogger("retailflow.inventory")


def store(config: ServiceConfig) -> Database:
    """Inventory's database (not yet connected): SQLite under the data dir, or its PostgreSQL schema."""
    return Database(config.store_url("inventory"), schema="inventory")


def seed(config: ServiceConfig) -> None:
    """Create the tables and load the catalog's initial stock (version 0, as legacy holds it)."""
    from retailflow.seed.catalog import generate

    with opened(store(config)) as db:
        repo = StockRepository(db)
        repo.create_schema()
        if repo.is_empty():
            catalog = generate(seed=config.seed, products=config.products)
            repo.load(Stock(sku, units, units, 0, 0, 0) for sku, units in catalog.stock.items())


def _metrics(app: Starlette, repo: StockRepository, relay: LegacySyncRelay | None, legacy_url: str | None) -> None:
    cache: dict[str, Any] = {"at": -1.0, "status": {}}

    def reading(key: str) -> Callable[[], float]:
        def read() -> float:
            # One store read serves all gauges of a scrape; a down store shows NaN, not a failed scrape.
            try:
                if time.monotonic() - cache["at"] > 0.5:
                    cache["status"] = sync_status(repo, relay, legacy_url)
                    cache["at"] = time.monotonic()
                value = cache["status"].get(key)
                return float(value) if value is not None else math.nan
            except Exception as exc:  # a down store shows NaN, and is counted and logged
                handled("inventory.sync_status", exc)
                return math.nan

        return read

    registry = app.state.registry
    for key, name, text in (
        ("pending", "inventory_legacy_sync_pending", "legacy_sync outbox rows not yet taken by legacy"),
        ("last_success_at", "inventory_legacy_sync_last_success_timestamp_seconds", "when legacy last took a write"),
        ("divergence_found_total", "inventory_legacy_divergence_found", "divergent legacy rows found (all time)"),
        (
            "divergence_repaired_total",
            "inventory_legacy_divergence_repaired",
            "divergent legacy rows repaired (all time)",
        ),
        ("divergent_last_run", "inventory_legacy_divergent_last_run", "divergent rows in the latest reconcile"),
    ):
        Gauge(name, text, registry=registry).set_function(reading(key))


def create_app(config: ServiceConfig) -> Starlette:
    settings = InventorySettings.from_env()
    repo = StockRepository(store(config))
    legacy_url = config.upstreams.get("legacy")
    handlers = InventoryHandlers(repo, dual_write=legacy_url is not None)
    client = (
        HttpLegacyClient(Upstream("legacy", legacy_url, timeout_s=settings.legacy_timeout_s, retries=0))
        if legacy_url
        else None
    )
    relay = LegacySyncRelay(repo, client, poll_s=settings.relay_poll_s, replica=config.replica) if client else None
    reconciler = LegacyReconciler(repo, client, interval_s=settings.reconcile_interval_s) if client else None
    bus = make_bus(config.bus_url, config.data_dir, config.bus_namespace)
    events = OutboxRelay(repo.db, bus, "inventory")
    background = BackgroundTasks()

    async def expire_stale() -> None:
        while True:
            try:
                expired = handlers.expire_stale()
                if expired:
                    log.info("expired stale reservations", extra={"expired": expired})
            except Exception as exc:
                handled("inventory.reservation_expiry", exc)  # the next pass tries again
            await asyncio.sleep(settings.expiry_interval_s)

    async def start() -> None:
        background.start("outbox-relay", events.run())
        background.start("reservation-expiry", expire_stale())
        if relay:
            background.start("legacy-sync", relay.run())
        if reconciler and settings.reconcile_interval_s > 0:  # 0: reconcile only when asked
            background.start("legacy-reconciler", reconciler.run())

    async def stop() -> None:
        await background.stop()
        if client:
            await client.close()
        await bus.close()

    app = create_store_app(
        "inventory",
        routes(handlers, relay, reconciler, legacy_url, settings.default_ttl_s),
        repo.db,
        config,
        # Only the own store: legacy being down is what the legacy_sync outbox absorbs.
        ready_checks={"background": background.ready},
        error_handlers=ERROR_HANDLERS,
        on_start=start,
        on_stop=stop,
    )
    _metrics(app, repo, relay, legacy_url)
    return app
