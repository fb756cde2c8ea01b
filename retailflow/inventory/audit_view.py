"""Read-only views of inventory's store for the audit, which reads stores directly.

Stable interface (the audit depends on it): `connect(config)`, `stock_rows(db)`,
`open_reservations(db)`. Rows are plain dicts so the audit imports nothing else of inventory.
"""

from __future__ import annotations

from typing import Any

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.inventory.adapters.repository import StockRepository

__all__ = ["connect", "open_reservations", "pending_legacy_writes", "stock_rows"]


def connect(config: ServiceConfig) -> Database:
    """A connected Database on inventory's store (its SQLite file, or its PostgreSQL schema). Close it."""
    return Database(config.store_url("inventory"), schema="inventory").connect()


def stock_rows(db: Database) -> list[dict[str, Any]]:
    """Every sku's stock in sku order: `sku, initial, available, reserved, sold, version` (ints but sku).

    Conservation holds when `initial == available + reserved + sold` and no bucket is negative.
    """
    rows = db.fetchall("SELECT sku, initial, available, reserved, sold, version FROM stock ORDER BY sku")
    return [
        {"sku": r["sku"], **{k: int(r[k]) for k in ("initial", "available", "reserved", "sold", "version")}}
        for r in rows
    ]


def open_reservations(db: Database) -> list[dict[str, Any]]:
    """Reservations still holding stock: `reservation_id, status ("held"), items [{sku, qty}], ttl_s,
    created_at, expires_at` (epoch seconds). Their quantities add up to each sku's `reserved`."""
    return [r.to_json() for r in StockRepository(db).open_reservations()]


def pending_legacy_writes(db: Database) -> int:
    """Rows of the `legacy_sync` outbox that legacy has not taken yet (0 once the dual-write caught up)."""
    return StockRepository(db).pending_legacy_count()
