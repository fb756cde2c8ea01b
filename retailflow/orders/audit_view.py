"""A read-only view of the orders store for the audit (retailflow/audit reads through this).

Stable interface: `connect(config)`, `orders(db)`, `confirmations(db)`,
`replay_matches_projection(db)`. The audit must not depend on table names beyond this module.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.orders.domain.events import event_from_payload
from retailflow.orders.domain.model import fold

__all__ = ["confirmations", "connect", "orders", "replay_matches_projection"]


def connect(config: ServiceConfig) -> Database:
    """An open connection to the orders store of `config` (the caller closes it)."""
    return Database(config.store_url("orders"), schema="orders").connect()


def orders(db: Database) -> list[dict[str, Any]]:
    """Every order in the projection: order_id, status, items (list of {sku, qty, price_cents,
    name}), total_cents, idempotency_key."""
    rows = db.fetchall("SELECT order_id, status, items, total_cents, idempotency_key FROM orders ORDER BY order_id")
    return [{**row, "items": orjson.loads(row["items"]), "total_cents": int(row["total_cents"])} for row in rows]


def confirmations(db: Database) -> dict[str, int]:
    """order_id → number of OrderConfirmed events in its log (anything but 1 for a confirmed
    order breaks "no double confirmation")."""
    rows = db.fetchall(
        "SELECT order_id, COUNT(*) AS n FROM order_events WHERE type = 'OrderConfirmed' GROUP BY order_id"
    )
    return {row["order_id"]: int(row["n"]) for row in rows}


def replay_matches_projection(db: Database) -> list[str]:
    """The order ids whose projection row differs from a replay of their event log (status,
    items, total, version), including orders present on only one side."""
    projected = {
        row["order_id"]: row for row in db.fetchall("SELECT order_id, status, items, total_cents, version FROM orders")
    }
    logs: dict[str, list[Any]] = defaultdict(list)
    for event in db.fetchall("SELECT order_id, type, payload FROM order_events ORDER BY order_id, seq"):
        logs[event["order_id"]].append(event_from_payload(event["type"], orjson.loads(event["payload"])))
    mismatched = []
    for order_id in sorted(set(projected) | set(logs)):
        found = projected.get(order_id)
        if found is None or order_id not in logs:
            mismatched.append(order_id)
            continue
        row, state = found, fold(order_id, logs[order_id])
        if (state.status, list(state.items), state.total_cents, state.version) != (
            row["status"],
            orjson.loads(row["items"]),
            int(row["total_cents"]),
            int(row["version"]),
        ):
            mismatched.append(order_id)
    return mismatched
