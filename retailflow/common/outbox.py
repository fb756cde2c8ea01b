"""The transactional outbox: an event is written in the same transaction as the change it
reports, and a relay publishes it to the bus afterwards, so no event is lost and none is
published for a change that rolled back."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import orjson

from retailflow.common.bus import Bus
from retailflow.common.db import Database
from retailflow.common.handled import handled

__all__ = ["OutboxRelay", "add_to_outbox", "outbox_schema"]

log = logging.getLogger("retailflow.outbox")


def outbox_schema(db: Database) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS outbox (id {db.autoincrement}, msg_id VARCHAR(64) NOT NULL, topic VARCHAR(100) NOT NULL,
        msg_key VARCHAR(200) NOT NULL, payload TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        published_at DOUBLE PRECISION);
    CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_at, id)
    """


def add_to_outbox(db: Database, topic: str, key: str, payload: dict[str, Any]) -> None:
    """Record an event; call inside the transaction that makes the change it reports.

    Its message id is a UUID, not the row id: a broker's de-duplication window (JetStream's
    Nats-Msg-Id) outlives a fresh store, whose row ids start again at 1.
    """
    db.execute(
        "INSERT INTO outbox (msg_id, topic, msg_key, payload, created_at) VALUES (?, ?, ?, ?, ?)",
        (uuid.uuid4().hex, topic, key, orjson.dumps(payload).decode(), time.time()),
    )


class OutboxRelay:
    """Publishes unpublished outbox rows in order; a row is marked only after the bus took it."""

    def __init__(self, db: Database, bus: Bus, service: str, poll_s: float = 0.05, keep_s: float = 600.0) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.poll_s = poll_s
        self.keep_s = keep_s  # published rows are kept this long (for a look during a game day), then pruned
        self.published = 0
        self._pruned_at = time.monotonic()

    async def relay_once(self, limit: int = 200) -> int:
        rows = self.db.fetchall(
            "SELECT id, msg_id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?", (limit,)
        )
        for row in rows:
            await self.bus.publish(row["topic"], row["msg_id"], orjson.loads(row["payload"]))
            self.db.execute("UPDATE outbox SET published_at = ? WHERE id = ?", (time.time(), row["id"]))
        self.published += len(rows)
        return len(rows)

    def prune(self) -> int:
        """Delete rows published more than `keep_s` ago, so the table does not grow with every event."""
        return self.db.execute(
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?", (time.time() - self.keep_s,)
        )

    async def run(self) -> None:
        while True:
            try:
                if time.monotonic() - self._pruned_at > 60:
                    self._pruned_at = time.monotonic()
                    self.prune()
                if not await self.relay_once():
                    await asyncio.sleep(self.poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                handled(f"{self.service}.outbox_relay", exc)  # then retried
                await asyncio.sleep(1.0)
