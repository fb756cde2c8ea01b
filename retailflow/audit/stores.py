"""Read a snapshot of the shop's stores directly (not through HTTP), through each service's
`audit_view` module (its stable read interface), so the audit sees what is stored rather than
what a service says.

A busy shop keeps changing while the audit reads, so that it does not look broken:
- each store's views are read in one read-only transaction, one instant of that store (stock
  rows and the reservations holding them agree; so do an order's projection and its events);
- the stores are read in the order the saga writes them, so that a step completing between two
  reads shows up as "done in the store read later", which the invariants allow for: payments
  before orders (a capture read first finds its order, confirmed since), and inventory's sold
  units both before the orders and after them (see `invariants._sold_problem`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from retailflow.audit.errors import AuditError, StoreUnreachable
from retailflow.audit.snapshot import Capture, Order, Reservation, ShopSnapshot, StockRow
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database, DatabaseError
from retailflow.legacy.adapters.store import LegacyStore

__all__ = ["read_snapshot"]

T = TypeVar("T")
STORES = ("payments", "orders", "inventory", "legacy")
LEGACY_PAGE = 1000


def _view(service: str) -> ModuleType:
    return importlib.import_module(f"retailflow.{service}.audit_view")


def _check_embedded_stores(config: ServiceConfig) -> None:
    """Name every missing SQLite store at once; connecting would create an empty one instead."""
    missing = []
    for service in STORES:
        url = config.store_url(service)
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            missing.append(url.removeprefix("sqlite:///"))
    if missing:
        raise StoreUnreachable(
            f"no such store: {', '.join(missing)}; is {config.data_dir} the data dir of a shop that was up?"
        )


@contextmanager
def _store(service: str, connect: Callable[[], Database]) -> Iterator[Database]:
    try:
        db = connect()
    except DatabaseError as exc:
        raise StoreUnreachable(f"the {service} store is unreachable: {exc}") from None
    try:
        yield db
    finally:
        db.close()


# A read-only transaction that sees one instant of the store: SQLite's snapshot starts at the
# first read (WAL: writers go on), PostgreSQL's needs REPEATABLE READ. (MariaDB holds only the
# legacy store, which the audit reads on its own.)
READ_ONE_INSTANT = {"sqlite": "BEGIN", "postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"}


@contextmanager
def _one_instant(service: str, db: Database) -> Iterator[None]:
    """Make the reads inside see the store as it was at one instant, not a moment apart each."""
    begin = READ_ONE_INSTANT.get(db.dialect)
    if begin is None:
        yield  # a dialect without a known snapshot read: each read sees its own moment
        return
    try:
        db.execute(begin)
    except DatabaseError as exc:
        raise StoreUnreachable(f"starting a read of the {service} store failed: {exc}") from None
    try:
        yield
    finally:
        try:
            db.execute("ROLLBACK")  # nothing was written: ending the read is all it does
        except DatabaseError:
            db.close()


def _read(service: str, what: str, fn: Callable[[], Any], convert: Callable[[Any], T]) -> T:
    """Rows of one view, converted; a store failure or rows of an unexpected shape are named."""
    try:
        rows = fn()
    except DatabaseError as exc:
        raise StoreUnreachable(f"reading {what} from the {service} store failed: {exc}") from None
    try:
        return convert(rows)
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditError(f"the {service} audit view answered {what} the audit cannot read ({exc!r})") from None


def _orders(rows: list[dict[str, Any]]) -> list[Order]:
    return [
        Order(r["order_id"], r["status"], int(r["total_cents"]),
              tuple((i["sku"], int(i["qty"])) for i in r["items"]), r["idempotency_key"] or None)
        for r in rows
    ]  # fmt: skip


def _stock(rows: list[dict[str, Any]]) -> list[StockRow]:
    return [StockRow(r["sku"], r["available"], r["reserved"], r["sold"], r["initial"], r["version"]) for r in rows]


def _sold(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["sku"]: int(r["sold"]) for r in rows}


def _reservations(rows: list[dict[str, Any]]) -> list[Reservation]:
    # One entry per SKU held: a reservation spans a whole cart.
    return [Reservation(r["reservation_id"], i["sku"], int(i["qty"])) for r in rows for i in r["items"]]


def _captures(rows: list[dict[str, Any]]) -> list[Capture]:
    return [Capture(r["payment_id"], r["order_id"], int(r["amount"]), int(r["captures"])) for r in rows]


def _mismatches(order_ids: list[str]) -> list[dict[str, object]]:
    return [{"order_id": oid, "problem": "projection differs from the event-log replay"} for oid in order_ids]


def read_snapshot(config: ServiceConfig) -> ShopSnapshot:
    """Read every store the invariants need; raises StoreUnreachable naming the store at fault."""
    _check_embedded_stores(config)
    payments, orders, inventory = _view("payments"), _view("orders"), _view("inventory")
    with _store("inventory", lambda: inventory.connect(config)) as db:
        sold_before = _read("inventory", "stock", lambda: inventory.stock_rows(db), _sold)
    with _store("payments", lambda: payments.connect(config)) as db:
        captures = _read("payments", "captures", lambda: payments.captures(db), _captures)
    with _store("orders", lambda: orders.connect(config)) as db, _one_instant("orders", db):
        placed = _read("orders", "orders", lambda: orders.orders(db), _orders)
        confirmations = _read("orders", "confirmations", lambda: orders.confirmations(db), dict)
        mismatches = _read("orders", "the replay", lambda: orders.replay_matches_projection(db), _mismatches)
    with _store("inventory", lambda: inventory.connect(config)) as db, _one_instant("inventory", db):
        stock = _read("inventory", "stock", lambda: inventory.stock_rows(db), _stock)
        held = _read("inventory", "reservations", lambda: inventory.open_reservations(db), _reservations)
    return ShopSnapshot(stock=stock, orders=placed, confirmations=confirmations, captures=captures,
                        legacy=_read_legacy(config), projection_mismatches=mismatches, reservations=held,
                        sold_before=sold_before)  # fmt: skip


def _read_legacy(config: ServiceConfig) -> list[StockRow]:
    rows: list[StockRow] = []
    with _store("legacy", lambda: Database(config.store_url("legacy"), schema="legacy").connect()) as db:
        store, after = LegacyStore(db), ""
        while True:
            try:
                page = store.page(after, LEGACY_PAGE)
            except DatabaseError as exc:
                raise StoreUnreachable(f"reading stock from the legacy store failed: {exc}") from None
            rows.extend(StockRow(r.sku, r.available, r.reserved, r.sold, version=r.version) for r in page)
            if len(page) < LEGACY_PAGE:
                return rows
            after = page[-1].sku
