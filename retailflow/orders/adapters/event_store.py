"""The order event store on the shared DB adapter: an append-only `order_events` log, the `orders`
projection and the outbox, all written in one transaction, plus the idempotency keys.

Optimistic concurrency: an append names its sequence numbers, and the primary key
(order_id, seq) refuses a second writer at the same position.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from retailflow.common.db import Database, IntegrityError, Row
from retailflow.common.outbox import add_to_outbox, outbox_schema
from retailflow.orders.domain.events import Event, event_from_payload
from retailflow.orders.domain.model import IN_FLIGHT, Order, OrderState, fold
from retailflow.orders.service_layer.ports import ConcurrencyConflict, KeyClaim, OrderRepository, Outcome

__all__ = ["TOPIC", "SqlOrderRepository", "create_schema", "load_events", "rebuild_projections"]

TOPIC = "orders"

SCHEMA = """
CREATE TABLE IF NOT EXISTS order_events (
    order_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL, type VARCHAR(40) NOT NULL,
    payload TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (order_id, seq));
CREATE TABLE IF NOT EXISTS orders (
    order_id VARCHAR(64) PRIMARY KEY, status VARCHAR(20) NOT NULL, items TEXT NOT NULL,
    total_cents BIGINT NOT NULL, customer_id VARCHAR(200) NOT NULL, idempotency_key VARCHAR(200) NOT NULL,
    failure VARCHAR(60), version INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, updated_at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idem_key VARCHAR(200) PRIMARY KEY, request_hash VARCHAR(64) NOT NULL, order_id VARCHAR(64) NOT NULL,
    status_code INTEGER, response TEXT, created_at DOUBLE PRECISION NOT NULL, completed_at DOUBLE PRECISION)
"""


def create_schema(db: Database) -> None:
    db.script(SCHEMA)
    db.script(outbox_schema(db))


def load_events(db: Database, order_id: str) -> list[tuple[Row, Event]]:
    rows = db.fetchall("SELECT seq, type, payload, at FROM order_events WHERE order_id = ? ORDER BY seq", (order_id,))
    return [(row, event_from_payload(row["type"], orjson.loads(row["payload"]))) for row in rows]


def _projection_params(state: OrderState, now: float) -> tuple[Any, ...]:
    return (
        state.status,
        orjson.dumps(list(state.items)).decode(),
        state.total_cents,
        state.customer_id,
        state.idempotency_key,
        state.failure,
        state.version,
        now,
    )


def _insert_projection(db: Database, state: OrderState, created_at: float, updated_at: float) -> None:
    db.execute(
        "INSERT INTO orders (status, items, total_cents, customer_id, idempotency_key, failure, version, "
        "updated_at, order_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*_projection_params(state, updated_at), state.order_id, created_at),
    )


def rebuild_projections(db: Database) -> int:
    """Throw the projection away and rebuild it from the event log; return the number of orders."""
    with db.transaction():
        db.execute("DELETE FROM orders")
        ids = [r["order_id"] for r in db.fetchall("SELECT DISTINCT order_id FROM order_events")]
        for order_id in ids:
            history = load_events(db, order_id)
            state = fold(order_id, (e for _, e in history))
            _insert_projection(db, state, float(history[0][0]["at"]), float(history[-1][0]["at"]))
    return len(ids)


class SqlOrderRepository(OrderRepository):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, order_id: str) -> Order | None:
        history = load_events(self.db, order_id)
        if not history:
            return None
        return Order.rehydrate(order_id, [e for _, e in history])

    def add(self, order: Order, *, idempotency_key: str, request_hash: str) -> None:
        try:
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO idempotency_keys (idem_key, request_hash, order_id, created_at) VALUES (?, ?, ?, ?)",
                    (idempotency_key, request_hash, order.order_id, time.time()),
                )
                self._append(order, None)
        except IntegrityError as exc:
            raise ConcurrencyConflict(f"idempotency key {idempotency_key!r} is already taken") from exc

    def save(self, order: Order, outcome: Outcome | None = None) -> None:
        try:
            with self.db.transaction():
                self._append(order, outcome)
        except IntegrityError as exc:
            raise ConcurrencyConflict(f"order {order.order_id} was changed by someone else") from exc

    def _append(self, order: Order, outcome: Outcome | None) -> None:
        if not order.pending:
            return
        now = time.time()
        start = order.stored_version
        for offset, event in enumerate(order.pending, start=1):
            seq = start + offset
            payload = event.payload()
            self.db.execute(
                "INSERT INTO order_events (order_id, seq, type, payload, at) VALUES (?, ?, ?, ?, ?)",
                (order.order_id, seq, event.type, orjson.dumps(payload).decode(), now),
            )
            add_to_outbox(
                self.db,
                TOPIC,
                order.order_id,
                {
                    "event_id": f"{order.order_id}:{seq}",
                    "type": event.type,
                    "order_id": order.order_id,
                    "seq": seq,
                    "at": now,
                    "data": payload,
                },
            )
        if start == 0:
            _insert_projection(self.db, order.state, now, now)
        else:
            self.db.execute(
                "UPDATE orders SET status = ?, items = ?, total_cents = ?, customer_id = ?, idempotency_key = ?, "
                "failure = ?, version = ?, updated_at = ? WHERE order_id = ?",
                (*_projection_params(order.state, now), order.order_id),
            )
        if outcome is not None and outcome.final:
            self.db.execute(
                "UPDATE idempotency_keys SET status_code = ?, response = ?, completed_at = ? WHERE order_id = ?",
                (outcome.status, orjson.dumps(outcome.body).decode(), now, order.order_id),
            )
        order.pending.clear()

    def claim(self, idempotency_key: str) -> KeyClaim | None:
        row = self.db.fetchone(
            "SELECT order_id, request_hash, status_code, response FROM idempotency_keys WHERE idem_key = ?",
            (idempotency_key,),
        )
        if row is None:
            return None
        outcome = None
        if row["status_code"] is not None:
            outcome = Outcome(int(row["status_code"]), orjson.loads(row["response"]))
        return KeyClaim(row["order_id"], row["request_hash"], outcome)

    def stale_in_flight(self, older_than_s: float, limit: int = 50) -> list[str]:
        marks = ", ".join("?" for _ in IN_FLIGHT)
        rows = self.db.fetchall(
            f"SELECT order_id FROM orders WHERE status IN ({marks}) AND updated_at < ? ORDER BY updated_at LIMIT ?",
            (*IN_FLIGHT, time.time() - older_than_s, limit),
        )
        return [r["order_id"] for r in rows]

    def projection(self, order_id: str) -> Row | None:
        row = self.db.fetchone("SELECT * FROM orders WHERE order_id = ?", (order_id,))
        if row is not None:
            row["items"] = orjson.loads(row["items"])
        return row

    def events(self, order_id: str) -> list[dict[str, Any]]:
        return [
            {"seq": int(row["seq"]), "type": row["type"], "at": float(row["at"]), "data": orjson.loads(row["payload"])}
            for row, _ in load_events(self.db, order_id)
        ]
