"""Inventory's tables on the common DB adapter (SQLite or PostgreSQL), written once with `?`.

Stock moves are conditional updates (`... WHERE sku = ? AND available >= ?`): the store, not
a read-then-write in Python, decides whether units are there, so replicas in separate
processes can never oversell. Reservation transitions are conditional on the current status
for the same reason: of two replicas releasing one reservation, exactly one wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import orjson

from retailflow.common.db import Database, Row
from retailflow.common.outbox import outbox_schema
from retailflow.inventory.domain.model import Line, Move, Reservation, Stock

__all__ = ["SCHEMA", "StockRepository", "stock_from_row"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock (
    sku VARCHAR(64) NOT NULL PRIMARY KEY,
    initial INTEGER NOT NULL,
    available INTEGER NOT NULL CHECK (available >= 0),
    reserved INTEGER NOT NULL CHECK (reserved >= 0),
    sold INTEGER NOT NULL CHECK (sold >= 0),
    version BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
    id VARCHAR(100) NOT NULL PRIMARY KEY,
    status VARCHAR(16) NOT NULL,
    items TEXT NOT NULL,
    ttl_s INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    rejected_sku VARCHAR(64) NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_by_status ON reservations (status, expires_at);
CREATE TABLE IF NOT EXISTS legacy_sync (
    id {autoincrement},
    sku VARCHAR(64) NOT NULL,
    available INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    sold INTEGER NOT NULL,
    version BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS legacy_sync_by_sku ON legacy_sync (sku, version);
CREATE TABLE IF NOT EXISTS legacy_sync_state (
    name VARCHAR(40) NOT NULL PRIMARY KEY,
    value DOUBLE PRECISION NOT NULL
)
"""

STOCK_COLUMNS = "sku, initial, available, reserved, sold, version"
SYNC_STATE = (
    "last_success_at",
    "last_reconcile_at",
    "divergence_found",
    "divergence_repaired",
    "divergent_last_run",
    "sent",
)


def stock_from_row(row: Row) -> Stock:
    return Stock(
        row["sku"],
        int(row["initial"]),
        int(row["available"]),
        int(row["reserved"]),
        int(row["sold"]),
        int(row["version"]),
    )


def _reservation_from_row(row: Row) -> Reservation:
    lines = tuple(Line(item["sku"], int(item["qty"])) for item in orjson.loads(row["items"]))
    return Reservation(
        row["id"],
        lines,
        row["status"],
        int(row["ttl_s"]),
        float(row["created_at"]),
        float(row["expires_at"]),
        row["rejected_sku"] or "",
    )


class StockRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def transaction(self) -> Iterator[StockRepository]:
        with self.db.transaction():
            yield self

    # -- schema and seed --------------------------------------------------------------------

    def create_schema(self) -> None:
        self.db.script(SCHEMA.format(autoincrement=self.db.autoincrement))
        self.db.script(outbox_schema(self.db))
        for name in SYNC_STATE:
            self.db.execute(self.db.insert_ignore("legacy_sync_state", ["name", "value"]), (name, 0.0))

    def is_empty(self) -> bool:
        return self.db.fetchone("SELECT sku FROM stock LIMIT 1") is None

    def load(self, stocks: Iterable[Stock]) -> None:
        now = time.time()
        with self.db.transaction():
            self.db.executemany(
                f"INSERT INTO stock ({STOCK_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.sku, s.initial, s.available, s.reserved, s.sold, s.version, now) for s in stocks],
            )

    # -- stock --------------------------------------------------------------------------------

    def get(self, sku: str) -> Stock | None:
        row = self.db.fetchone(f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku = ?", (sku,))
        return stock_from_row(row) if row else None

    def get_many(self, skus: Sequence[str]) -> list[Stock]:
        if not skus:
            return []
        marks = ", ".join("?" for _ in skus)
        rows = self.db.fetchall(f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku IN ({marks}) ORDER BY sku", skus)
        return [stock_from_row(r) for r in rows]

    def page(self, after: str, limit: int, *, upto: str | None = None) -> list[Stock]:
        """Rows in sku order after `after` (and at most `upto`, when given)."""
        if upto is None:
            rows = self.db.fetchall(
                f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku > ? ORDER BY sku LIMIT ?", (after, limit)
            )
        else:
            rows = self.db.fetchall(
                f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku > ? AND sku <= ? ORDER BY sku LIMIT ?",
                (after, upto, limit),
            )
        return [stock_from_row(r) for r in rows]

    def move(self, sku: str, qty: int, move: Move) -> Stock | None:
        """Move `qty` units if the source bucket holds them; the stock after, or None when it did not."""
        src, dst = move.source, move.target  # bucket names from the domain's constants, never input
        row = self.db.fetchone(
            f"UPDATE stock SET {src} = {src} - ?, {dst} = {dst} + ?, version = version + 1, updated_at = ? "
            f"WHERE sku = ? AND {src} >= ? RETURNING {STOCK_COLUMNS}",
            (qty, qty, time.time(), sku, qty),
        )
        return stock_from_row(row) if row else None

    def bump_version(self, sku: str, expected: int, to: int) -> bool:
        return bool(self.db.execute("UPDATE stock SET version = ? WHERE sku = ? AND version = ?", (to, sku, expected)))

    # -- reservations ---------------------------------------------------------------------------

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        row = self.db.fetchone("SELECT * FROM reservations WHERE id = ?", (reservation_id,))
        return _reservation_from_row(row) if row else None

    def add_reservation(self, reservation: Reservation) -> None:
        """Insert; an IntegrityError means another request with this id got there first."""
        r = reservation
        items = orjson.dumps([{"sku": line.sku, "qty": line.qty} for line in r.lines]).decode()
        self.db.execute(
            "INSERT INTO reservations (id, status, items, ttl_s, created_at, expires_at, updated_at, rejected_sku) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r.id, r.status, items, r.ttl_s, r.created_at, r.expires_at, time.time(), r.rejected_sku),
        )

    def set_status(self, reservation: Reservation, expected: str) -> bool:
        """Move a reservation to its new status if it still has `expected`; False when another won."""
        return bool(
            self.db.execute(
                "UPDATE reservations SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                (reservation.status, time.time(), reservation.id, expected),
            )
        )

    def stale_reservation_ids(self, now: float, limit: int) -> list[str]:
        rows = self.db.fetchall(
            "SELECT id FROM reservations WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
            (now, limit),
        )
        return [r["id"] for r in rows]

    def open_reservations(self) -> list[Reservation]:
        rows = self.db.fetchall("SELECT * FROM reservations WHERE status = 'held' ORDER BY created_at")
        return [_reservation_from_row(r) for r in rows]

    # -- the legacy_sync outbox (the dual-write's second write, waiting to be sent) --------------

    def enqueue_legacy(self, stock: Stock) -> None:
        self.db.execute(
            "INSERT INTO legacy_sync (sku, available, reserved, sold, version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (stock.sku, stock.available, stock.reserved, stock.sold, stock.version, time.time()),
        )

    def pending_legacy(self, limit: int, *, parity: int | None = None, orphaned_before: float = 0.0) -> list[Stock]:
        """The newest pending version of each sku among the oldest `limit` rows (older ones are moot:
        legacy keeps the highest version).

        With `parity`, only rows whose id has that parity, plus any row created before
        `orphaned_before`: replicas split the fresh rows instead of all sending each, and a row
        whose replica died is still picked up by another one moments later.
        """
        if parity is None:
            rows = self.db.fetchall(
                "SELECT sku, available, reserved, sold, version FROM legacy_sync ORDER BY id LIMIT ?", (limit,)
            )
        else:
            rows = self.db.fetchall(
                "SELECT sku, available, reserved, sold, version FROM legacy_sync "
                "WHERE (id % 2) = ? OR created_at < ? ORDER BY id LIMIT ?",
                (parity, orphaned_before, limit),
            )
        newest: dict[str, Stock] = {}
        for row in rows:
            stock = Stock(
                row["sku"], 0, int(row["available"]), int(row["reserved"]), int(row["sold"]), int(row["version"])
            )
            if row["sku"] not in newest or stock.version > newest[row["sku"]].version:
                newest[row["sku"]] = stock
        return list(newest.values())

    def legacy_sent(self, sku: str, version: int) -> None:
        self.db.execute("DELETE FROM legacy_sync WHERE sku = ? AND version <= ?", (sku, version))

    def pending_legacy_count(self) -> int:
        row = self.db.fetchone("SELECT COUNT(*) AS n FROM legacy_sync")
        return int(row["n"]) if row else 0

    def pending_skus(self, skus: Sequence[str]) -> set[str]:
        if not skus:
            return set()
        marks = ", ".join("?" for _ in skus)
        return {
            r["sku"] for r in self.db.fetchall(f"SELECT DISTINCT sku FROM legacy_sync WHERE sku IN ({marks})", skus)
        }

    def sync_state(self) -> dict[str, float]:
        return {r["name"]: float(r["value"]) for r in self.db.fetchall("SELECT name, value FROM legacy_sync_state")}

    def set_sync_state(self, name: str, value: float) -> None:
        self.db.execute("UPDATE legacy_sync_state SET value = ? WHERE name = ?", (value, name))

    def add_sync_state(self, name: str, amount: float) -> None:
        self.db.execute("UPDATE legacy_sync_state SET value = value + ? WHERE name = ?", (amount, name))
