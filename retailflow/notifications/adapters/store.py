"""Stored notifications. The event id is the primary key, so a redelivered event is dropped by
the store itself, whichever replica receives it."""

from __future__ import annotations

import time
from typing import Any

from retailflow.common.db import Database
from retailflow.notifications.domain.messages import Notification

__all__ = ["NotificationStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    event_id VARCHAR(120) PRIMARY KEY, order_id VARCHAR(64) NOT NULL, kind VARCHAR(40) NOT NULL,
    message TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_by_order ON notifications (order_id, created_at)
"""


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.duplicates = 0

    def create_schema(self) -> None:
        self.db.script(SCHEMA)

    def add(self, note: Notification) -> bool:
        """Store a notification; False when its event was seen before (a duplicate delivery)."""
        added = self.db.execute(
            self.db.insert_ignore("notifications", ["event_id", "order_id", "kind", "message", "created_at"]),
            (note.event_id, note.order_id, note.kind, note.message, time.time()),
        )
        if not added:
            self.duplicates += 1
        return bool(added)

    def for_order(self, order_id: str | None, limit: int) -> list[dict[str, Any]]:
        if order_id is None:
            return self.db.fetchall("SELECT * FROM notifications ORDER BY created_at DESC LIMIT ?", (limit,))
        return self.db.fetchall(
            "SELECT * FROM notifications WHERE order_id = ? ORDER BY created_at LIMIT ?", (order_id, limit)
        )
