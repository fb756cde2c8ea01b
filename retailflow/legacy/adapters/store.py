"""The monolith's stock table. Writes carry inventory's version; the newest version wins, so a
retried or reordered dual-write can never move the legacy row backwards."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from retailflow.common.db import Database, IntegrityError, Row

__all__ = ["LegacyStock", "LegacyStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS legacy_stock (
    sku VARCHAR(64) NOT NULL PRIMARY KEY,
    qty_available INTEGER NOT NULL,
    qty_reserved INTEGER NOT NULL,
    qty_sold INTEGER NOT NULL,
    version BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
)
"""


@dataclass(frozen=True)
class LegacyStock:
    sku: str
    available: int
    reserved: int
    sold: int
    version: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _from_row(row: Row) -> LegacyStock:
    return LegacyStock(
        row["sku"], int(row["qty_available"]), int(row["qty_reserved"]), int(row["qty_sold"]), int(row["version"])
    )


class LegacyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_schema(self) -> None:
        self.db.script(SCHEMA)

    def is_empty(self) -> bool:
        return self.db.fetchone("SELECT sku FROM legacy_stock LIMIT 1") is None

    def load(self, rows: Iterable[LegacyStock]) -> None:
        now = time.time()
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO legacy_stock (sku, qty_available, qty_reserved, qty_sold, version, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(r.sku, r.available, r.reserved, r.sold, r.version, now) for r in rows],
            )

    def put(self, stock: LegacyStock) -> bool:
        """Apply a newer version of a row; return False when the store already had it or newer."""
        now = time.time()
        changed = self.db.execute(
            "UPDATE legacy_stock SET qty_available = ?, qty_reserved = ?, qty_sold = ?, version = ?, updated_at = ? "
            "WHERE sku = ? AND version < ?",
            (stock.available, stock.reserved, stock.sold, stock.version, now, stock.sku, stock.version),
        )
        if changed:
            return True
        if self.get(stock.sku) is not None:
            return False
        try:
            self.db.execute(
                "INSERT INTO legacy_stock (sku, qty_available, qty_reserved, qty_sold, version, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (stock.sku, stock.available, stock.reserved, stock.sold, stock.version, now),
            )
            return True
        except IntegrityError:  # a concurrent write created it first: settle by version
            return self.put(stock)

    def get(self, sku: str) -> LegacyStock | None:
        row = self.db.fetchone("SELECT * FROM legacy_stock WHERE sku = ?", (sku,))
        return _from_row(row) if row else None

    def page(self, after: str, limit: int) -> list[LegacyStock]:
        rows = self.db.fetchall("SELECT * FROM legacy_stock WHERE sku > ? ORDER BY sku LIMIT ?", (after, limit))
        return [_from_row(r) for r in rows]
