"""The audit against real stores: SQLite files built with each service's own schema and code,
filled by real checkouts, then tampered with one kind of damage at a time."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from doorbuster.cli import main
from retailflow.audit import LedgerEntry, StoreUnreachable, run_audit
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


class PaymentsStore:
    """Payments' own store, driven as its handlers drive it."""

    def __init__(self, config: ServiceConfig) -> None:
        self.store = PaymentStore(Database(config.store_url("payments")).connect())
        self.store.create_schema()
        self.db = self.store.db

    def authorize(self, payment_id: str, amount_cents: int) -> None:
        self.store.record_authorization(Payment(payment_id, payment_id, amount_cents, "authorized", None))

    def capture(self, payment_id: str) -> None:
        payment = self.store.get(payment_id)
        assert payment is not None
        self.store.capture(payment)

    def capture_again(self, order_id: str) -> None:
        # A retried capture under a fresh payment id: the order is paid twice.
        self.db.execute(
            "INSERT INTO captures (payment_id, order_id, amount_cents, captured_at) SELECT "
            "payment_id || '-retry', order_id, amount_cents, captured_at FROM captures WHERE order_id = ?",
            (order_id,),
        )

    def capture_orphan(self, payment_id: str, amount_cents: int) -> None:
        self.authorize(payment_id, amount_cents)
        self.capture(payment_id)

    def forget(self, payment_id: str) -> None:
        self.db.execute("DELETE FROM captures WHERE payment_id = ?", (payment_id,))
        self.db.execute("DELETE FROM payments WHERE payment_id = ?", (payment_id,))


PRICES = {"DB-1": 1999, "SKU-2": 500, "SKU-3": 250}
INITIAL = {"DB-1": 20, "SKU-2": 10, "SKU-3": 5}


@dataclass
class Stores:
    """A shop's stores on disk, driven through the services' own code."""

    config: ServiceConfig
    inventory: InventoryHandlers
    orders: SqlOrderRepository
    legacy: LegacyStore
    payments: PaymentsStore
    ledger: list[LedgerEntry] = field(default_factory=list)

    def sql(self, service: str, statement: str, params: tuple[Any, ...] = ()) -> None:
        path = self.config.data_dir / f"{service}.db"
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA ignore_check_constraints = ON")  # damage the schema would refuse
            conn.execute(statement, params)

    def relay_legacy(self) -> None:
        """What inventory's dual-write relay does: newest pending version of each row to legacy."""
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

    def sold_out(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """A checkout whose payment was declined: stock released, order failed, nothing captured."""
        order = self._place(order_id, items)
        self.inventory.release(ReleaseReservation(order_id))
        order.release_stock(order_id)
        order.fail("payment_declined")
        self.orders.save(order)

    def holding(self, order_id: str, items: list[tuple[str, int]]) -> None:
        """A checkout still in its saga: stock held, nothing paid yet."""
        self.orders.save(self._place(order_id, items))


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    config = ServiceConfig("gateway", data_dir=tmp_path)
    dbs = {name: Database(config.store_url(name)).connect() for name in ("inventory", "orders", "legacy")}
    try:
        repo = StockRepository(dbs["inventory"])
        repo.create_schema()
        repo.load(Stock(sku, units, units, 0, 0) for sku, units in INITIAL.items())
        create_schema(dbs["orders"])
        legacy = LegacyStore(dbs["legacy"])
        legacy.create_schema()
        legacy.load(LegacyStock(sku, units, 0, 0, 0) for sku, units in INITIAL.items())
        payments = PaymentsStore(config)
        try:
            shop = Stores(
                config, InventoryHandlers(repo, dual_write=True), SqlOrderRepository(dbs["orders"]), legacy, payments
            )
            shop.checkout("o-1", [("DB-1", 2)])
            shop.checkout("o-2", [("DB-1", 1), ("SKU-2", 3)])
            shop.sold_out("o-3", [("SKU-2", 1)])
            shop.holding("o-4", [("DB-1", 1)])
            shop.relay_legacy()
            yield shop
        finally:
            payments.db.close()
    finally:
        for db in dbs.values():
            db.close()


def broken(audit: dict[str, Any]) -> dict[str, list[Any]]:
    return {inv["name"]: inv["details"] for inv in audit["invariants"] if not inv["ok"]}


def test_stores_filled_by_real_checkouts_pass_every_invariant(stores: Stores) -> None:
    audit = run_audit(stores.config, stores.ledger)
    assert broken(audit) == {}
    assert audit["ok"] is True
    stock = next(inv for inv in audit["invariants"] if inv["name"] == "stock_conservation")
    assert stock["details"] == [{"note": "1 orders still in flight (neither confirmed nor failed)"}]


def lose_order(s: Stores) -> None:
    # The client was told "confirmed", but nothing of the order reached the stores.
    s.sql("orders", "DELETE FROM orders WHERE order_id = 'o-1'")
    s.sql("orders", "DELETE FROM order_events WHERE order_id = 'o-1'")
    s.payments.forget("o-1")
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
    s.payments.capture_again("o-2")


def leak_stock(s: Stores) -> None:
    s.sql("inventory", "UPDATE stock SET available = available + 1 WHERE sku = 'SKU-3'")
    s.sql("legacy", "UPDATE legacy_stock SET qty_available = qty_available + 1 WHERE sku = 'SKU-3'")


def go_negative(s: Stores) -> None:
    # Below zero yet conserved (initial moved with it): only the sign is wrong.
    s.sql("inventory", "UPDATE stock SET initial = initial - available - 1, available = -1 WHERE sku = 'SKU-3'")
    s.sql("legacy", "UPDATE legacy_stock SET qty_available = -1 WHERE sku = 'SKU-3'")


def diverge_legacy(s: Stores) -> None:
    s.sql(
        "legacy", "UPDATE legacy_stock SET qty_reserved = qty_reserved + 1, version = version + 1 WHERE sku = 'SKU-2'"
    )


def drift_projection(s: Stores) -> None:
    s.sql("orders", "UPDATE orders SET total_cents = 1 WHERE order_id = 'o-3'")


@pytest.mark.parametrize(
    ("tamper", "invariant", "detail"),
    [
        (lose_order, "ledger_orders_exist", {"order_id": "o-1", "problem": "missing from the order store"}),
        (confirm_twice, "no_double_confirmation", {"order_id": "o-2", "problem": "confirmed 2 times"}),
        (
            capture_twice,
            "no_double_capture",
            {"order_id": "o-2", "payment_ids": ["o-2", "o-2-retry"], "problem": "2 captured payments for one order"},
        ),
        (
            leak_stock,
            "stock_conservation",
            {"sku": "SKU-3", "problem": "initial 5 != available 6 + reserved 0 + sold 0"},
        ),
        (go_negative, "no_negative_stock", {"store": "inventory", "sku": "SKU-3", "available": -1}),
        (
            diverge_legacy,
            "legacy_convergence",
            {
                "sku": "SKU-2",
                "inventory": {"available": 7, "reserved": 0, "sold": 3},
                "legacy": {"available": 7, "reserved": 1, "sold": 3},
                "problem": "legacy differs from inventory",
            },
        ),
        (
            drift_projection,
            "projection_replay",
            {"order_id": "o-3", "problem": "projection differs from the event-log replay"},
        ),
    ],
)
def test_each_kind_of_damage_to_the_stores_breaks_exactly_its_invariant(
    stores: Stores, tamper: Callable[[Stores], None], invariant: str, detail: dict[str, Any]
) -> None:
    tamper(stores)
    audit = run_audit(stores.config, stores.ledger)
    assert audit["ok"] is False
    assert list(broken(audit)) == [invariant]
    assert broken(audit)[invariant][0] == detail


def test_a_capture_without_an_order_is_reported(stores: Stores) -> None:
    stores.payments.capture_orphan("o-99", 1234)
    audit = run_audit(stores.config, stores.ledger)
    assert list(broken(audit)) == ["no_capture_without_order"]
    assert broken(audit)["no_capture_without_order"][0]["problem"] == "no such order"


def test_a_data_dir_without_the_shop_is_unreachable_naming_the_file(tmp_path: Path) -> None:
    config = ServiceConfig("gateway", data_dir=tmp_path / "elsewhere")
    with pytest.raises(
        StoreUnreachable,
        match=r"no such store: .*elsewhere/payments\.db, .*elsewhere/orders\.db.*; is .*elsewhere the data dir",
    ):
        run_audit(config, None)
    assert not (tmp_path / "elsewhere").exists()  # the audit never creates a store


# -- the command line: `doorbuster audit` ------------------------------------------------------


def write_ledger(path: Path, entries: list[LedgerEntry]) -> Path:
    rows = ["order_id,idempotency_key,items,total_cents,confirmed_ts,journey"]
    for e in entries:
        items = json.dumps([{"sku": s, "qty": q} for s, q in e.items]).replace('"', '""')
        rows.append(f'{e.order_id},{e.idempotency_key},"{items}",{e.total_cents},{e.confirmed_ts},{e.journey}')
    path.write_text("\n".join(rows) + "\n")
    return path


def audit_cli(*args: str | Path) -> int:
    return main(["audit", *map(str, args)])


def test_the_command_exits_0_and_summarises_a_clean_shop(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", stores.ledger)
    assert audit_cli("--ledger", ledger, "--data-dir", stores.config.data_dir) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit OK at ")
    assert "ok   ledger_orders_exist" in out and "FAIL" not in out


def test_the_command_exits_1_naming_the_broken_invariant_and_writes_audit_json(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak_stock(stores)
    ledger = write_ledger(tmp_path / "ledger.csv", stores.ledger)
    out_file = tmp_path / "run" / "audit.json"
    assert audit_cli("--ledger", ledger, "--data-dir", stores.config.data_dir, "--json", "--out", out_file) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out_file.read_text())
    assert printed["ok"] is False
    assert [inv["name"] for inv in printed["invariants"] if not inv["ok"]] == ["stock_conservation"]


def test_a_malformed_ledger_exits_2_naming_line_and_field(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text('order_id,idempotency_key,items,total_cents,confirmed_ts,journey\no-1,k,"[]",ten,1,c\n')
    assert audit_cli("--ledger", ledger, "--data-dir", stores.config.data_dir) == 2
    assert "ledger.csv:2: total_cents must be a whole number, got 'ten'" in capsys.readouterr().err


def test_a_missing_ledger_file_exits_2(stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("--ledger", tmp_path / "nope.csv", "--data-dir", stores.config.data_dir) == 2
    assert "cannot read ledger" in capsys.readouterr().err


def test_a_data_dir_without_a_shop_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("--data-dir", tmp_path) == 4
    assert f"no such store: {tmp_path}/payments.db" in capsys.readouterr().err


def test_a_store_that_is_not_a_database_exits_4_naming_it(stores: Stores, capsys: pytest.CaptureFixture[str]) -> None:
    (stores.config.data_dir / "orders.db").write_bytes(b"this is not a database" * 100)
    for junk in stores.config.data_dir.glob("orders.db-*"):
        junk.unlink()
    assert audit_cli("--data-dir", stores.config.data_dir) == 4
    err = capsys.readouterr().err
    assert "the orders store is unreachable" in err and "orders.db: file is not a database" in err
