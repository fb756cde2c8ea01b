"""Read a snapshot of the shop's stores directly (not through HTTP), via each service's
`audit_view` module, so the audit sees what is stored rather than what a service says.

Reads go in an order that keeps a busy shop from looking broken: payments before orders
(a capture read first finds its order, confirmed since), orders before inventory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

from retailflow.audit.errors import AuditError, StoreUnreachable
from retailflow.audit.snapshot import Capture, Order, Reservation, ShopSnapshot, StockRow
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database, DatabaseError
from retailflow.legacy.adapters.store import LegacyStore

__all__ = ["read_snapshot"]

T = TypeVar("T")
LEGACY_PAGE = 1000


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """A field of a row, whether the view returns dicts or dataclasses, under any of its names."""
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return default


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _stock_row(row: Any) -> StockRow:
    return StockRow(
        sku=str(_get(row, "sku")),
        available=int(_get(row, "available", "qty_available")),
        reserved=int(_get(row, "reserved", "qty_reserved")),
        sold=int(_get(row, "sold", "qty_sold")),
        initial=_opt_int(_get(row, "initial", "qty_initial")),
        version=_opt_int(_get(row, "version")),
    )


def _items(raw: Any) -> tuple[tuple[str, int], ...]:
    if isinstance(raw, (str, bytes)):
        raw = orjson.loads(raw)
    return tuple((str(_get(i, "sku")), int(_get(i, "qty", "quantity"))) for i in raw or ())


def _order(row: Any) -> Order:
    return Order(
        order_id=str(_get(row, "order_id", "id")),
        status=str(_get(row, "status")),
        total_cents=int(_get(row, "total_cents", default=0) or 0),
        items=_items(_get(row, "items", default=())),
        idempotency_key=_get(row, "idempotency_key"),
    )


def _confirmations(raw: Any) -> dict[str, int]:
    if isinstance(raw, Mapping):
        return {str(k): int(v) for k, v in raw.items()}
    counts: dict[str, int] = {}
    for row in raw:
        order_id = str(_get(row, "order_id"))
        counts[order_id] = counts.get(order_id, 0) + int(_get(row, "count", "confirmations", default=1))
    return counts


def _capture(row: Any) -> Capture:
    return Capture(
        payment_id=str(_get(row, "payment_id", "id")),
        order_id=str(_get(row, "order_id")),
        amount_cents=int(_get(row, "amount_cents", "amount", default=0) or 0),
        captures=int(_get(row, "captures", "capture_count", "count", default=1)),
    )


def _reservations(row: Any) -> list[Reservation]:
    """A held reservation, one entry per SKU it holds (a reservation may span a whole cart)."""
    reservation_id = str(_get(row, "reservation_id", "id"))
    items = _get(row, "items", "lines")
    if items is None:
        return [Reservation(reservation_id, str(_get(row, "sku")), int(_get(row, "qty")))]
    return [Reservation(reservation_id, sku, qty) for sku, qty in _items(items)]


def _mismatches(raw: Any) -> list[dict[str, object]]:
    """The orders view answers with the orders whose projection differs from their replay."""
    if raw is True or raw is None:
        return []
    if raw is False:
        return [{"problem": "projections differ from the event-log replay"}]
    if isinstance(raw, Mapping):
        raw = [{"order_id": k, "problem": v} for k, v in raw.items()]
    out: list[dict[str, object]] = []
    for item in raw:
        if isinstance(item, Mapping):
            out.append({str(k): v for k, v in item.items()})
        else:
            out.append({"order_id": str(item), "problem": "projection differs from the event-log replay"})
    return out


def _view(service: str) -> Any:
    name = f"retailflow.{service}.audit_view"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise AuditError(f"this shop has no {name} module: the audit cannot read the {service} store") from None
        raise


STORES = ("payments", "orders", "inventory", "legacy")


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
def _store(config: ServiceConfig, service: str, view: Any = None) -> Iterator[Database]:
    """Connect to one service's store (the caller checked that an embedded one exists)."""
    url = config.store_url(service)
    try:
        if view is not None and hasattr(view, "connect"):
            db = view.connect(config)
        else:
            db = Database(url, schema=service).connect()
    except DatabaseError as exc:
        raise StoreUnreachable(f"the {service} store is unreachable: {exc}") from None
    try:
        yield db
    finally:
        db.close()


def _read(service: str, what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except DatabaseError as exc:
        raise StoreUnreachable(f"reading {what} from the {service} store failed: {exc}") from None


def read_snapshot(config: ServiceConfig) -> ShopSnapshot:
    """Read every store the invariants need; raises StoreUnreachable naming the store at fault."""
    _check_embedded_stores(config)
    payments, orders_view, inventory = _view("payments"), _view("orders"), _view("inventory")
    with _store(config, "payments", payments) as db:
        captures = [_capture(r) for r in _read("payments", "captures", lambda: payments.captures(db))]
    with _store(config, "orders", orders_view) as db:
        orders = [_order(r) for r in _read("orders", "orders", lambda: orders_view.orders(db))]
        confirmations = _confirmations(_read("orders", "confirmations", lambda: orders_view.confirmations(db)))
        mismatches = _mismatches(
            _read("orders", "projection replay", lambda: orders_view.replay_matches_projection(db))
        )
    with _store(config, "inventory", inventory) as db:
        stock = [_stock_row(r) for r in _read("inventory", "stock", lambda: inventory.stock_rows(db))]
        reservations = None
        if hasattr(inventory, "open_reservations"):
            held = _read("inventory", "reservations", lambda: inventory.open_reservations(db))
            reservations = [res for row in held for res in _reservations(row)]
    legacy = _read_legacy(config)
    return ShopSnapshot(
        stock=stock,
        orders=orders,
        confirmations=confirmations,
        captures=captures,
        legacy=legacy,
        projection_mismatches=mismatches,
        reservations=reservations,
    )


def _read_legacy(config: ServiceConfig) -> list[StockRow]:
    rows: list[StockRow] = []
    with _store(config, "legacy") as db:
        store = LegacyStore(db)
        after = ""
        while True:
            page = _read("legacy", "stock", lambda: store.page(after, LEGACY_PAGE))  # noqa: B023 (called at once)
            rows.extend(StockRow(r.sku, r.available, r.reserved, r.sold, version=r.version) for r in page)
            if len(page) < LEGACY_PAGE:
                return rows
            after = page[-1].sku
