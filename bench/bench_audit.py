"""Audit cost of a game day's stores vs reading the same rows with no checks at all.

    python3 -m bench.bench_audit            # or: python3 -m bench audit

SQLite stores of the embedded profile, built with each service's own schema and code: the
default 10,000-SKU catalog's stock (inventory and legacy) and `BENCH_AUDIT_ORDERS` confirmed
orders (default 5,000: more than a 30-minute 10x game day confirms), each with its event log
and its capture. Baseline: `SELECT *` of every table the audit reads, the least any audit
must pay. Measured: `run_audit` with the ledger of those orders (read, validate the ledger,
replay every order's events, check the eight invariants). Best of a few interleaved rounds.
Goal: ≤ 4x the baseline (the replay folds every event in Python; the baseline only fetches).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from retailflow.audit import LedgerEntry, run_audit
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.domain.model import Stock
from retailflow.legacy.adapters.store import LegacyStock, LegacyStore
from retailflow.orders.adapters.event_store import SqlOrderRepository, create_schema
from retailflow.orders.domain.model import Order
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.domain.model import Payment
from retailflow.seed.catalog import generate

ORDERS = int(os.environ.get("BENCH_AUDIT_ORDERS", "5000"))
ROUNDS = int(os.environ.get("BENCH_AUDIT_ROUNDS", "3"))
GOAL = 4.0
TABLES = {"inventory": ("stock", "reservations"), "orders": ("orders", "order_events"),
          "payments": ("captures",), "legacy": ("legacy_stock",)}  # fmt: skip


def build(config: ServiceConfig) -> list[LedgerEntry]:
    """The stores after ORDERS confirmed checkouts of one unit each, spread over the catalog."""
    catalog = generate(seed=config.seed, products=config.products)
    skus = sorted(catalog.stock)
    sold: dict[str, int] = {}
    dbs = {name: Database(config.store_url(name)).connect() for name in TABLES}
    try:
        orders, payments = SqlOrderRepository(dbs["orders"]), PaymentStore(dbs["payments"])
        create_schema(dbs["orders"])
        payments.create_schema()
        ledger = []
        for n in range(ORDERS):
            sku = skus[(n * 7919) % len(skus)]
            if sold.get(sku, 0) >= catalog.stock[sku]:
                continue
            sold[sku] = sold.get(sku, 0) + 1
            oid = f"o-{n:06d}"
            price = catalog.by_sku[sku].price_cents
            order = Order.place(oid, [{"sku": sku, "qty": 1, "price_cents": price, "name": sku}], "c", f"k-{oid}")
            order.reserve(oid)
            order.authorize(oid)
            order.commit_stock()
            order.capture()
            order.confirm()
            orders.add(order, idempotency_key=f"k-{oid}", request_hash="h")
            payments.record_authorization(Payment(oid, oid, price, "authorized", None))
            payment = payments.get(oid)
            assert payment is not None
            payments.capture(payment)
            ledger.append(LedgerEntry(oid, f"k-{oid}", ((sku, 1),), price, 1.0, "checkout"))
        rows = [Stock(sku, units, units - sold.get(sku, 0), 0, sold.get(sku, 0), sold.get(sku, 0))
                for sku, units in catalog.stock.items()]  # fmt: skip
        inventory = StockRepository(dbs["inventory"])
        inventory.create_schema()
        inventory.load(rows)
        legacy = LegacyStore(dbs["legacy"])
        legacy.create_schema()
        legacy.load(LegacyStock(r.sku, r.available, r.reserved, r.sold, r.version) for r in rows)
        return ledger
    finally:
        for db in dbs.values():
            db.close()


def read_everything(config: ServiceConfig) -> int:
    rows = 0
    for service, tables in TABLES.items():
        db = Database(config.store_url(service)).connect()
        try:
            rows += sum(len(db.fetchall(f"SELECT * FROM {table}")) for table in tables)
        finally:
            db.close()
    return rows


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        config = ServiceConfig("gateway", data_dir=Path(tmp))
        start = time.perf_counter()
        ledger = build(config)
        print(f"stores: {config.products:,} SKUs, {len(ledger):,} confirmed orders with captures "
              f"({read_everything(config):,} rows; built in {time.perf_counter() - start:.1f}s)")  # fmt: skip
        audit = run_audit(config, ledger)
        assert audit["ok"], [inv for inv in audit["invariants"] if not inv["ok"]]
        baseline, full = [], []
        for _ in range(ROUNDS):
            baseline.append(_timed(lambda: read_everything(config)))
            full.append(_timed(lambda: run_audit(config, ledger)))
        base, ours = min(baseline), min(full)
        print(f"SELECT * of every table read   {base:7.3f}s")
        print(f"run_audit (8 invariants)       {ours:7.3f}s   = {ours / base:.2f}x   (goal ≤ {GOAL:g}x)")
        return 0 if ours / base <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
