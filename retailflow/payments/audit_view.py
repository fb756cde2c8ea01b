"""A read-only view of the payments store for the audit (retailflow/audit reads through this).

Stable interface: `connect(config)` and `captures(db)`.
"""

from __future__ import annotations

from typing import Any

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database

__all__ = ["captures", "connect"]


def connect(config: ServiceConfig) -> Database:
    """An open connection to the payments store of `config` (the caller closes it)."""
    return Database(config.store_url("payments"), schema="payments").connect()


def captures(db: Database) -> list[dict[str, Any]]:
    """One row per captured payment: payment_id, order_id, captures (how many capture rows; the
    primary key keeps it at 1, so more would be a broken store), amount (cents captured)."""
    rows = db.fetchall(
        "SELECT payment_id, MIN(order_id) AS order_id, COUNT(*) AS captures, SUM(amount_cents) AS amount "
        "FROM captures GROUP BY payment_id ORDER BY payment_id"
    )
    return [
        {
            "payment_id": r["payment_id"],
            "order_id": r["order_id"],
            "captures": int(r["captures"]),
            "amount": int(r["amount"]),
        }
        for r in rows
    ]
