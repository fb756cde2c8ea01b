"""A shop's stores for audit tests, built with each service's own schema and code, filled by
checkouts as the orders saga runs them, and the kinds of damage the audit must catch.

Works on both profiles: SQLite files in a data dir, or PostgreSQL (a schema per service) and
MariaDB (legacy), as `ServiceConfig.store_url` names them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from retailflow.audit import LedgerEntry, run_audit
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.domain.commands import CommitReservation, ReleaseReservation, ReserveStock
from retailflow.inventory.domain.model import Line, Stock
from retailflow.inventory.service_layer.handlers import InventoryHandlers
from retailflow.legacy.adapters.store import LegacyStock, LegacyStore
from retailflow.orders.adapters.event_store import SqlOrderRepository, create_schema
from retailflow.orders.domain.model import Order
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.domain.model import Payment

__all__ = [
    "DAMAGE",
    "DAMAGE_IDS",
    "Stores",
    "assert_audit_breaks_only",
    "broken",
    "built_stores",
    "each_damage",
    "sale_completes_after_the_orders_are_read",
    "stock_reserved_after_each_stock_read",
]

PRICES = {"DB-1": 1999, "SKU-2": 500, "SKU-3": 250}
INITIAL = {"DB-1": 20, "SKU-2": 10, "SKU-3": 5}


def broken(audit: dict[str, Any]) -> dict[str, list[Any]]:
    """The audit's broken invariants, each with its details."""
    return {inv["name"]: inv["details"] for inv in audit["invariants"] if not inv["ok"]}


def _db(config: ServiceConfig, service: str) -> Database:
    return Database(config.store_url(service), schema=service).connect()


class PaymentsStore:
    """Payments' own store, driven as its handlers drive it."""

    def __init__(self, config: ServiceConfig) -> None:
        self.store = PaymentStore(_db(config, "payments"))
        self.store.create_schema()
        self.db = self.store.db

    def authorize(self, payment_id: str, amount_cents: int) -> None:
        self.store.record_authorization(Payment(payment_id, payment_id, amount_cents, "authorized", None))

    def capture(self, payment_id: str) -> None:
        payment = self.store.get(payment_id)
        assert payment is not None
        self.store.capture(payment)


@dataclass
class Stores:
    """A shop's stores, driven through the services' own code."""

    config: ServiceConfig
    inventory: InventoryHandlers
    orders: SqlOrderRepository
    legacy: LegacyStore
    payments: PaymentsStore
    ledger: list[LedgerEntry] = field(default_factory=list)

    def sql(self, service: str, statement: str, params: tuple[Any, ...] = (), *, unchecked: bool = False) -> None:
        """Damage a store behind its service's back; `unchecked` lifts the CHECKs it would refuse."""
        db = _db(self.config, service)
        try:
            if unchecked and db.dialect == "sqlite":
                db.execute("PRAGMA ignore_check_constraints = ON")
            elif unchecked and db.dialect == "postgresql":
                db.execute("ALTER TABLE stock DROP CONSTRAINT IF EXISTS stock_available_check")
            db.execute(statement, params)
        finally:
            db.close()

    def relay_legacy(self) -> None:
        """What inventory's dual-write relay does: the newest pending version of each row to legacy."""
        repo = self.inventory.repo
        for stock in repo.pending_legacy(10_000):
            self.legacy.put(LegacyStock(stock.sku, stock.available, stock.reserved, stock.sold, stock.version))
            repo.legacy_sent(stock.sku, stock.version)

    def _place(self, order_id: str, items: list[tuple[str, int]]) -> Order:
        lines = [{"sku": s, "qty": q, "price_cents": PRICES[s], "name": s.lower()} for s, q in items]
        order = Order.place(order_id, lines, "c-1", f"key-{order_id}")
        self.orders.add(order, idempotency_key=f"key-{order_id}", request_hash="h")
        self.inventory.reserve(ReserveStock(order_id, tuple(Line(s, q) for s, q in items), 600))
        order.reserve(order_id)
        return order

    def checkout(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """The saga's happy path, as the orders service runs it; the client is told "confirmed"."""
        order = self._place(order_id, items)
        self.payments.authorize(order_id, order.state.total_cents)
        order.authorize(order_id)
        self.inventory.commit(CommitReservation(order_id))
        order.commit_stock()
        self.payments.capture(order_id)
        order.capture()
        order.confirm()
        self.orders.save(order)
        self.ledger.append(LedgerEntry(order_id, f"key-{order_id}", tuple(items), order.state.total_cents, 1.0, "t"))

    def declined(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """A checkout whose payment was declined: stock released, order failed, nothing captured."""
        order = self._place(order_id, items)
        self.inventory.release(ReleaseReservation(order_id))
        order.release_stock(order_id)
        order.fail("payment_declined")
        self.orders.save(order)

    def failed_keeping_stock(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """The defect the audit must catch: a declined order whose units stay sold (inventory
        committed them, the order failed all the same)."""
        order = self._place(order_id, items)
        self.commit_stock(order_id)
        order.fail("payment_declined")
        self.orders.save(order)

    def holding(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """A checkout still in its saga: stock held, nothing paid yet."""
        self.orders.save(self._place(order_id, items))

    def authorize_held(self, order_id: str) -> None:
        """The saga's next step for an order `holding` placed: its payment is authorized."""
        order = self.orders.get(order_id)
        assert order is not None
        self.payments.authorize(order_id, order.state.total_cents)
        order.authorize(order_id)
        self.orders.save(order)

    def commit_stock(self, order_id: str) -> None:
        """The saga's commit in inventory (relayed to legacy), the order not yet told: the moment
        between inventory selling the units and orders recording it."""
        self.inventory.commit(CommitReservation(order_id))
        self.relay_legacy()


@contextmanager
def built_stores(config: ServiceConfig) -> Iterator[Stores]:
    """Two confirmed orders, a declined one and one in flight, with legacy caught up."""
    dbs = {name: _db(config, name) for name in ("inventory", "orders", "legacy")}
    payments: PaymentsStore | None = None
    try:
        repo = StockRepository(dbs["inventory"])
        repo.create_schema()
        repo.load(Stock(sku, units, units, 0, 0) for sku, units in INITIAL.items())
        create_schema(dbs["orders"])
        legacy = LegacyStore(dbs["legacy"])
        legacy.create_schema()
        legacy.load(LegacyStock(sku, units, 0, 0, 0) for sku, units in INITIAL.items())
        payments = PaymentsStore(config)
        shop = Stores(
            config, InventoryHandlers(repo, dual_write=True), SqlOrderRepository(dbs["orders"]), legacy, payments
        )
        shop.checkout("o-1", [("DB-1", 2)])
        shop.checkout("o-2", [("DB-1", 1), ("SKU-2", 3)])
        shop.declined("o-3", [("SKU-2", 1)])
        shop.holding("o-4", [("DB-1", 1)])
        shop.relay_legacy()
        yield shop
    finally:
        for db in [*dbs.values(), *([payments.db] if payments else [])]:
            db.close()


# -- a shop busy while the audit reads it: the saga's steps between two of the audit's reads -----


def sale_completes_after_the_orders_are_read(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make in-flight o-4's sale complete in inventory right after the audit has read the orders,
    as the saga does it: inventory commits the units, the order records it a moment later."""
    import retailflow.orders.audit_view as orders_view

    stores.authorize_held("o-4")
    read = orders_view.orders

    def read_then_sell(db: Database) -> list[dict[str, Any]]:
        rows = read(db)
        stores.commit_stock("o-4")
        return rows

    monkeypatch.setattr(orders_view, "orders", read_then_sell)


def stock_reserved_after_each_stock_read(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a checkout reserve a unit of SKU-3 right after each read of inventory's stock rows:
    between them and the read of the reservations that hold them."""
    import retailflow.inventory.audit_view as inventory_view

    read, placed = inventory_view.stock_rows, itertools.count(10)

    def read_then_reserve(db: Database) -> list[dict[str, Any]]:
        rows = read(db)
        stores.holding(f"o-{next(placed)}", [("SKU-3", 1)])
        return rows

    monkeypatch.setattr(inventory_view, "stock_rows", read_then_reserve)


# -- damage: each breaks one invariant, and only that one ---------------------------------------


def lose_order(s: Stores) -> None:
    # The client was told "confirmed", but nothing of the order reached the stores.
    s.sql("orders", "DELETE FROM orders WHERE order_id = 'o-1'")
    s.sql("orders", "DELETE FROM order_events WHERE order_id = 'o-1'")
    s.sql("payments", "DELETE FROM captures WHERE order_id = 'o-1'")
    s.sql("payments", "DELETE FROM payments WHERE order_id = 'o-1'")
    s.sql("inventory", "UPDATE stock SET available = available + 2, sold = sold - 2 WHERE sku = 'DB-1'")
    s.sql(
        "legacy",
        "UPDATE legacy_stock SET qty_available = qty_available + 2, qty_sold = qty_sold - 2 WHERE sku = 'DB-1'",
    )


def confirm_twice(s: Stores) -> None:
    # A second OrderConfirmed in the log, and a projection that followed it.
    s.sql(
        "orders",
        "INSERT INTO order_events (order_id, seq, type, payload, at) SELECT order_id, seq + 1, type, "
        "payload, at FROM order_events WHERE order_id = 'o-2' AND type = 'OrderConfirmed'",
    )
    s.sql("orders", "UPDATE orders SET version = version + 1 WHERE order_id = 'o-2'")


def capture_twice(s: Stores) -> None:
    # A retried capture under a fresh payment id: the order is paid twice.
    s.sql(
        "payments",
        "INSERT INTO captures (payment_id, order_id, amount_cents, captured_at) "
        "SELECT 'o-2-retry', order_id, amount_cents, captured_at FROM captures WHERE order_id = 'o-2'",
    )


def capture_without_order(s: Stores) -> None:
    s.payments.authorize("o-99", 1234)
    s.payments.capture("o-99")


def leak_stock(s: Stores) -> None:
    s.sql("inventory", "UPDATE stock SET available = available + 1 WHERE sku = 'SKU-3'")
    s.sql("legacy", "UPDATE legacy_stock SET qty_available = qty_available + 1 WHERE sku = 'SKU-3'")


def fail_keeping_stock(s: Stores) -> None:
    s.failed_keeping_stock("o-7", [("SKU-3", 1)])


def go_negative(s: Stores) -> None:
    # Below zero yet conserved (initial moved with it): only the sign is wrong.
    s.sql(
        "inventory",
        "UPDATE stock SET initial = initial - available - 1, available = -1 WHERE sku = 'SKU-3'",
        unchecked=True,
    )
    s.sql("legacy", "UPDATE legacy_stock SET qty_available = -1 WHERE sku = 'SKU-3'")


def diverge_legacy(s: Stores) -> None:
    s.sql(
        "legacy", "UPDATE legacy_stock SET qty_reserved = qty_reserved + 1, version = version + 1 WHERE sku = 'SKU-2'"
    )


def drift_projection(s: Stores) -> None:
    s.sql("orders", "UPDATE orders SET total_cents = 1 WHERE order_id = 'o-3'")


# (damage, the invariant it breaks, the first detail the audit reports)
DAMAGE: list[tuple[Callable[[Stores], None], str, dict[str, Any]]] = [
    (lose_order, "ledger_orders_exist", {"order_id": "o-1", "problem": "missing from the order store"}),
    (confirm_twice, "no_double_confirmation", {"order_id": "o-2", "problem": "confirmed 2 times"}),
    (capture_twice, "no_double_capture",
     {"order_id": "o-2", "payment_ids": ["o-2", "o-2-retry"], "problem": "2 captured payments for one order"}),
    (capture_without_order, "no_capture_without_order",
     {"payment_id": "o-99", "order_id": "o-99", "problem": "no such order"}),
    (leak_stock, "stock_conservation", {"sku": "SKU-3", "problem": "initial 5 != available 6 + reserved 0 + sold 0"}),
    (fail_keeping_stock, "stock_conservation", {"sku": "SKU-3", "problem": "sold 1 != 0 units bought by orders"}),
    (go_negative, "no_negative_stock",
     {"store": "inventory", "sku": "SKU-3", "available": -1, "problem": "available is -1"}),
    (diverge_legacy, "legacy_convergence",
     {"sku": "SKU-2", "inventory": {"available": 7, "reserved": 0, "sold": 3},
      "legacy": {"available": 7, "reserved": 1, "sold": 3}, "problem": "legacy differs from inventory"}),
    (drift_projection, "projection_replay",
     {"order_id": "o-3", "problem": "projection differs from the event-log replay"}),
]  # fmt: skip

# Each kind of damage, once per test: `@each_damage` gives a test `damage`, `invariant` and `detail`.
DAMAGE_IDS = [damage.__name__ for damage, _, _ in DAMAGE]
each_damage = pytest.mark.parametrize(("damage", "invariant", "detail"), DAMAGE, ids=DAMAGE_IDS)


def assert_audit_breaks_only(stores: Stores, damage: Callable[[Stores], None], invariant: str,
                             detail: dict[str, Any]) -> None:  # fmt: skip
    """Damage the stores one way and audit them: exactly `invariant` is broken, `detail` first."""
    damage(stores)
    audit = run_audit(stores.config, stores.ledger)
    assert audit["ok"] is False
    assert list(broken(audit)) == [invariant]
    assert broken(audit)[invariant][0] == detail
