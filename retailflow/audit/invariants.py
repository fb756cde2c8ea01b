"""The shop's invariants (audit.json in docs/contracts.md) as pure functions of a store snapshot and a ledger.

Each returns a `Verdict`; `details` lists the violating orders, SKUs or rows (capped, with the
full count in `violations`), so a reader of audit.json sees what broke, not just that it broke.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from retailflow import contracts
from retailflow.audit.ledger import LedgerEntry
from retailflow.audit.snapshot import CAPTURED, STOCK_SOLD, ShopSnapshot, StockRow

__all__ = ["CHECKS", "MAX_DETAILS", "Verdict", "check_all"]

MAX_DETAILS = 50


@dataclass
class Verdict:
    name: str
    violations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        details: list[Any] = list(self.violations[:MAX_DETAILS])
        if len(self.violations) > MAX_DETAILS:
            details.append({"note": f"{len(self.violations) - MAX_DETAILS} more not listed"})
        details.extend({"note": note} for note in self.notes)
        return {"name": self.name, "ok": self.ok, "violations": len(self.violations), "details": details}


def _units(items: Sequence[tuple[str, int]]) -> dict[str, int]:
    units: Counter[str] = Counter()
    for sku, qty in items:
        units[sku] += qty
    return dict(sorted(units.items()))


def _shared_keys(
    groups: Mapping[str, Collection[str]], key: str, ids: str, problem: Callable[[int], str]
) -> list[dict[str, Any]]:
    """A violation for each key that more than one id shares (one key, one order; one order, one
    capture), in key order: `{key: the key, ids: the ids, "problem": problem(how many)}`."""
    return [
        {key: shared, ids: sorted(members), "problem": problem(len(members))}
        for shared, members in sorted(groups.items())
        if len(members) > 1
    ]


def ledger_orders_exist(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """Every order confirmed to a client exists, confirmed, with the items and total the client was told."""
    verdict = Verdict(contracts.LEDGER_ORDERS_EXIST)
    if ledger is None:
        verdict.notes.append("no ledger given: nothing to check against")
        return verdict
    orders = {o.order_id: o for o in snap.orders}
    for entry in ledger:
        order = orders.get(entry.order_id)
        if order is None:
            verdict.violations.append({"order_id": entry.order_id, "problem": "missing from the order store"})
        elif not order.confirmed:
            verdict.violations.append(
                {"order_id": entry.order_id, "problem": f"status is {order.status!r}, the client was told confirmed"}
            )
        elif order.total_cents != entry.total_cents:
            verdict.violations.append(
                {
                    "order_id": entry.order_id,
                    "problem": f"total_cents is {order.total_cents}, the client was told {entry.total_cents}",
                }
            )
        elif _units(order.items) != _units(entry.items):
            verdict.violations.append(
                {
                    "order_id": entry.order_id,
                    "problem": f"items are {_units(order.items)}, the client was told {_units(entry.items)}",
                }
            )
    verdict.notes.append(f"{len(ledger)} ledger orders checked")
    return verdict


def no_double_confirmation(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """No order confirmed twice, and no purchase (idempotency key) confirmed as two orders."""
    verdict = Verdict(contracts.NO_DOUBLE_CONFIRMATION)
    for order_id, count in sorted(snap.confirmations.items()):
        if count > 1:
            verdict.violations.append({"order_id": order_id, "problem": f"confirmed {count} times"})
    by_key: dict[str, set[str]] = defaultdict(set)
    for order in snap.orders:
        if order.confirmed and order.idempotency_key:
            by_key[order.idempotency_key].add(order.order_id)
    for entry in ledger or ():
        if entry.idempotency_key:
            by_key[entry.idempotency_key].add(entry.order_id)
    verdict.violations += _shared_keys(
        by_key, "idempotency_key", "order_ids", lambda n: f"one idempotency key confirmed as {n} orders"
    )
    return verdict


def no_double_capture(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """No payment captured twice, and no order paid by two captured payments."""
    verdict = Verdict(contracts.NO_DOUBLE_CAPTURE)
    for cap in snap.captures:
        if cap.captures > 1:
            verdict.violations.append(
                {"payment_id": cap.payment_id, "order_id": cap.order_id, "problem": f"captured {cap.captures} times"}
            )
    per_order: dict[str, list[str]] = defaultdict(list)
    for cap in snap.captures:
        per_order[cap.order_id].append(cap.payment_id)
    verdict.violations += _shared_keys(
        per_order, "order_id", "payment_ids", lambda n: f"{n} captured payments for one order"
    )
    return verdict


def no_capture_without_order(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """Money is only taken for an order that exists and is confirmed."""
    verdict = Verdict(contracts.NO_CAPTURE_WITHOUT_ORDER)
    orders = {o.order_id: o for o in snap.orders}
    for cap in snap.captures:
        order = orders.get(cap.order_id)
        if order is None:
            verdict.violations.append(
                {"payment_id": cap.payment_id, "order_id": cap.order_id, "problem": "no such order"}
            )
        elif order.status not in CAPTURED:
            verdict.violations.append(
                {
                    "payment_id": cap.payment_id,
                    "order_id": cap.order_id,
                    "problem": f"captured for an order whose status is {order.status!r}",
                }
            )
    return verdict


def _sold_problem(row: StockRow, bought: int, sold_before: Mapping[str, int] | None) -> str:
    """Whether inventory's sold units match the units orders bought, or "" when they do.

    With one look at inventory they must be equal. With a look before the orders were read and
    one after (`sold_before`), a sale that completed in between is in the second look but maybe
    not in the orders: the saga commits the stock in inventory before it records the order as
    sold. So the units bought must lie between the two looks: more than the second is a sale
    inventory never made; fewer than the first is stock sold before the orders were read that
    no order accounts for (a failed order that kept its stock, a saga stuck after the commit).
    When nothing sold in between, the two looks agree and this is equality again; a real
    difference escapes one look only while as many sales of that SKU complete during it.
    """
    before = row.sold if sold_before is None else sold_before.get(row.sku, row.sold)
    if before <= bought <= row.sold:
        return ""
    if before == row.sold:
        return f"sold {row.sold} != {bought} units bought by orders"
    return f"sold {before} before the orders were read and {row.sold} after, but {bought} units bought by orders"


def stock_conservation(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """Per SKU: initial = available + reserved + sold; sold = units of the orders that bought
    them (within the sales that completed while the audit read, see `_sold_problem`); reserved =
    units held by open reservations (when the store lists them)."""
    verdict = Verdict(contracts.STOCK_CONSERVATION)
    ordered: Counter[str] = Counter()
    for order in snap.orders:
        if order.status in STOCK_SOLD:
            for sku, qty in order.items:
                ordered[sku] += qty
    in_flight = sum(order.in_flight for order in snap.orders)
    if in_flight:
        # Legitimate while checkouts run; after the load has stopped, a saga that never finished.
        verdict.notes.append(f"{in_flight} orders still in flight (neither confirmed nor failed)")
    held: Counter[str] | None = None
    if snap.reservations is not None:
        held = Counter()
        for res in snap.reservations:
            held[res.sku] += res.qty
    known = set()
    for row in snap.stock:
        known.add(row.sku)
        problems = []
        if row.initial is not None and row.initial != row.available + row.reserved + row.sold:
            problems.append(
                f"initial {row.initial} != available {row.available} + reserved {row.reserved} + sold {row.sold}"
            )
        sold = _sold_problem(row, ordered[row.sku], snap.sold_before)
        if sold:
            problems.append(sold)
        if held is not None and row.reserved != held[row.sku]:
            problems.append(f"reserved {row.reserved} != {held[row.sku]} units held by open reservations")
        if problems:
            verdict.violations.append({"sku": row.sku, "problem": "; ".join(problems)})
    for sku in sorted(set(ordered) - known):
        verdict.violations.append({"sku": sku, "problem": f"{ordered[sku]} units ordered of a SKU inventory lacks"})
    return verdict


def no_negative_stock(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """No stock figure below zero, in the new store or the legacy one (no oversell)."""
    verdict = Verdict(contracts.NO_NEGATIVE_STOCK)
    for store, rows in (("inventory", snap.stock), ("legacy", snap.legacy)):
        for row in rows:
            negative = {
                k: v for k, v in (("available", row.available), ("reserved", row.reserved), ("sold", row.sold)) if v < 0
            }
            if negative:
                problem = ", ".join(f"{k} is {v}" for k, v in negative.items())
                verdict.violations.append({"store": store, "sku": row.sku, **negative, "problem": problem})
    return verdict


def _figures(row: StockRow) -> tuple[int, int, int]:
    return row.available, row.reserved, row.sold


def legacy_convergence(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """The legacy store holds the same stock as inventory, row for row."""
    verdict = Verdict(contracts.LEGACY_CONVERGENCE)
    legacy = {row.sku: row for row in snap.legacy}
    for row in snap.stock:
        old = legacy.pop(row.sku, None)
        if old is None:
            verdict.violations.append({"sku": row.sku, "problem": "missing from the legacy store"})
        elif _figures(old) != _figures(row):
            verdict.violations.append(
                {
                    "sku": row.sku,
                    "inventory": dict(zip(("available", "reserved", "sold"), _figures(row), strict=True)),
                    "legacy": dict(zip(("available", "reserved", "sold"), _figures(old), strict=True)),
                    "problem": "legacy differs from inventory",
                }
            )
    for sku in sorted(legacy):
        verdict.violations.append({"sku": sku, "problem": "in the legacy store but not in inventory"})
    return verdict


def projection_replay(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> Verdict:
    """Each order's projection equals a replay of its event log."""
    verdict = Verdict(contracts.PROJECTION_REPLAY)
    verdict.violations.extend(snap.projection_mismatches)
    return verdict


Check = Callable[[ShopSnapshot, Sequence[LedgerEntry] | None], Verdict]

# In the order of retailflow.contracts.INVARIANTS (a test holds them to it).
CHECKS: tuple[Check, ...] = (
    ledger_orders_exist,
    no_double_confirmation,
    no_double_capture,
    no_capture_without_order,
    stock_conservation,
    no_negative_stock,
    legacy_convergence,
    projection_replay,
)


def check_all(snap: ShopSnapshot, ledger: Sequence[LedgerEntry] | None) -> list[Verdict]:
    return [check(snap, ledger) for check in CHECKS]
