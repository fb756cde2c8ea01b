"""Each invariant catches exactly its own kind of damage, and a clean shop passes all of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from retailflow.audit import LedgerEntry, audit_snapshot
from retailflow.audit.invariants import MAX_DETAILS
from retailflow.audit.snapshot import Capture, Order, Reservation, ShopSnapshot, StockRow

NAMES = [
    "ledger_orders_exist",
    "no_double_confirmation",
    "no_double_capture",
    "no_capture_without_order",
    "stock_conservation",
    "no_negative_stock",
    "legacy_convergence",
    "projection_replay",
]


def clean_shop() -> ShopSnapshot:
    """A doorbuster with 20 units (3 sold over two orders, 1 held), a regular SKU, a failed order."""
    stock = [StockRow("DB-1", 16, 1, 3, initial=20, version=4), StockRow("SKU-2", 9, 0, 1, initial=10, version=1)]
    return ShopSnapshot(
        stock=stock,
        orders=[
            Order("o-1", "confirmed", 3000, (("DB-1", 2),), "k-1"),
            Order("o-2", "confirmed", 2500, (("DB-1", 1), ("SKU-2", 1)), "k-2"),
            Order("o-3", "failed", 1500, (("DB-1", 1),), "k-3"),
        ],
        confirmations={"o-1": 1, "o-2": 1},
        captures=[Capture("p-1", "o-1", 3000), Capture("p-2", "o-2", 2500)],
        legacy=[dataclasses.replace(row, initial=None) for row in stock],
        projection_mismatches=[],
        reservations=[Reservation("r-9", "DB-1", 1)],
    )


def ledger() -> list[LedgerEntry]:
    return [
        LedgerEntry("o-1", "k-1", (("DB-1", 2),), 3000, 1.0, "checkout"),
        LedgerEntry("o-2", "k-2", (("DB-1", 1), ("SKU-2", 1)), 2500, 2.0, "checkout"),
    ]


def broken(audit: dict[str, object]) -> list[str]:
    return [inv["name"] for inv in audit["invariants"] if not inv["ok"]]  # type: ignore[attr-defined]


def verdict(audit: dict[str, object], name: str) -> dict[str, object]:
    return next(inv for inv in audit["invariants"] if inv["name"] == name)  # type: ignore[attr-defined]


def test_a_clean_shop_passes_every_invariant_in_the_contract_order() -> None:
    audit = audit_snapshot(clean_shop(), ledger())
    assert audit["ok"] is True
    assert [inv["name"] for inv in audit["invariants"]] == NAMES
    assert all(inv["ok"] and inv["violations"] == 0 for inv in audit["invariants"])
    assert audit["checked_at"].endswith("+00:00")


def test_without_a_ledger_the_ledger_check_says_it_had_nothing_to_check() -> None:
    audit = audit_snapshot(clean_shop(), None)
    assert audit["ok"] is True
    assert verdict(audit, "ledger_orders_exist")["details"] == [{"note": "no ledger given: nothing to check against"}]


def lose_order(s: ShopSnapshot) -> None:
    # A confirmed order vanishes with everything it caused (its stock back, its capture gone):
    # only the ledger still remembers it.
    s.orders = [o for o in s.orders if o.order_id != "o-1"]
    s.confirmations.pop("o-1")
    s.captures = [c for c in s.captures if c.order_id != "o-1"]
    s.stock[0] = StockRow("DB-1", 18, 1, 1, initial=20)
    s.legacy[0] = StockRow("DB-1", 18, 1, 1)


def confirm_twice(s: ShopSnapshot) -> None:
    s.confirmations["o-2"] = 2


def capture_twice(s: ShopSnapshot) -> None:
    s.captures[1] = Capture("p-2", "o-2", 2500, captures=2)


def capture_for_a_failed_order(s: ShopSnapshot) -> None:
    s.captures.append(Capture("p-3", "o-3", 1500))


def leak_stock(s: ShopSnapshot) -> None:
    s.stock[1] = StockRow("SKU-2", 10, 0, 1, initial=10)
    s.legacy[1] = StockRow("SKU-2", 10, 0, 1)


def go_negative(s: ShopSnapshot) -> None:
    # Negative and yet conserved (initial moved too), so only the sign is wrong.
    s.stock[1] = StockRow("SKU-2", -1, 0, 1, initial=0)
    s.legacy[1] = StockRow("SKU-2", -1, 0, 1)


def diverge_legacy(s: ShopSnapshot) -> None:
    s.legacy[0] = StockRow("DB-1", 17, 0, 3)


def drift_projection(s: ShopSnapshot) -> None:
    s.projection_mismatches.append({"order_id": "o-2", "problem": "projection total 2500, replay 2600"})


@pytest.mark.parametrize(
    ("tamper", "invariant", "detail"),
    [
        (lose_order, "ledger_orders_exist", {"order_id": "o-1", "problem": "missing from the order store"}),
        (confirm_twice, "no_double_confirmation", {"order_id": "o-2", "problem": "confirmed 2 times"}),
        (capture_twice, "no_double_capture", {"payment_id": "p-2", "order_id": "o-2", "problem": "captured 2 times"}),
        (
            capture_for_a_failed_order,
            "no_capture_without_order",
            {"payment_id": "p-3", "order_id": "o-3", "problem": "captured for an order whose status is 'failed'"},
        ),
        (
            leak_stock,
            "stock_conservation",
            {"sku": "SKU-2", "problem": "initial 10 != available 10 + reserved 0 + sold 1"},
        ),
        (
            go_negative,
            "no_negative_stock",
            {"store": "inventory", "sku": "SKU-2", "available": -1, "problem": "available is -1"},
        ),
        (
            diverge_legacy,
            "legacy_convergence",
            {
                "sku": "DB-1",
                "inventory": {"available": 16, "reserved": 1, "sold": 3},
                "legacy": {"available": 17, "reserved": 0, "sold": 3},
                "problem": "legacy differs from inventory",
            },
        ),
        (drift_projection, "projection_replay", {"order_id": "o-2", "problem": "projection total 2500, replay 2600"}),
    ],
)
def test_each_kind_of_damage_breaks_exactly_its_invariant(
    tamper: Callable[[ShopSnapshot], None], invariant: str, detail: dict[str, object]
) -> None:
    snap = clean_shop()
    tamper(snap)
    audit = audit_snapshot(snap, ledger())
    assert audit["ok"] is False
    assert broken(audit) == [invariant]
    # One violation each, except a negative row: the dual-write copied it, so both stores show it.
    assert verdict(audit, invariant)["violations"] == (2 if invariant == "no_negative_stock" else 1)
    assert verdict(audit, invariant)["details"][0] == detail


def test_an_order_the_client_saw_confirmed_but_stored_failed_is_reported() -> None:
    snap = clean_shop()
    audit = audit_snapshot(snap, [*ledger(), LedgerEntry("o-3", "k-3", (("DB-1", 1),), 1500, 3.0, "checkout")])
    assert verdict(audit, "ledger_orders_exist")["details"][0] == {
        "order_id": "o-3",
        "problem": "status is 'failed', the client was told confirmed",
    }


def test_a_total_other_than_the_client_was_told_is_reported() -> None:
    audit = audit_snapshot(clean_shop(), [dataclasses.replace(ledger()[0], total_cents=2999)])
    assert verdict(audit, "ledger_orders_exist")["details"][0] == {
        "order_id": "o-1",
        "problem": "total_cents is 3000, the client was told 2999",
    }


def test_items_other_than_the_client_was_told_are_reported() -> None:
    audit = audit_snapshot(clean_shop(), [dataclasses.replace(ledger()[0], items=(("DB-1", 1),))])
    assert verdict(audit, "ledger_orders_exist")["details"][0] == {
        "order_id": "o-1",
        "problem": "items are {'DB-1': 2}, the client was told {'DB-1': 1}",
    }


def test_one_idempotency_key_confirmed_as_two_orders_is_a_double_confirmation() -> None:
    snap = clean_shop()
    # A retried checkout that placed a second order instead of answering with the first.
    snap.orders.append(Order("o-4", "confirmed", 3000, (("DB-1", 2),), "k-1"))
    snap.confirmations["o-4"] = 1
    audit = audit_snapshot(snap, ledger())
    assert verdict(audit, "no_double_confirmation")["details"] == [
        {"idempotency_key": "k-1", "order_ids": ["o-1", "o-4"], "problem": "one idempotency key confirmed as 2 orders"}
    ]


def test_two_captured_payments_for_one_order_are_a_double_capture() -> None:
    snap = clean_shop()
    snap.captures.append(Capture("p-9", "o-1", 3000))
    audit = audit_snapshot(snap, ledger())
    assert broken(audit) == ["no_double_capture"]
    assert verdict(audit, "no_double_capture")["details"][0]["payment_ids"] == ["p-1", "p-9"]


def test_an_oversold_doorbuster_is_caught_even_when_inventory_adds_up() -> None:
    # Inventory counts 3 sold and balances, but confirmed orders hold 4 units: one was oversold.
    snap = clean_shop()
    snap.orders.append(Order("o-5", "confirmed", 1000, (("DB-1", 1),), "k-5"))
    snap.confirmations["o-5"] = 1
    snap.captures.append(Capture("p-5", "o-5", 1000))
    audit = audit_snapshot(snap, ledger())
    assert broken(audit) == ["stock_conservation"]
    assert verdict(audit, "stock_conservation")["details"][0] == {
        "sku": "DB-1",
        "problem": "sold 3 != 4 units bought by orders",
    }


def test_reserved_stock_no_open_reservation_holds_is_a_leak() -> None:
    snap = clean_shop()
    snap.reservations = []
    audit = audit_snapshot(snap, ledger())
    assert verdict(audit, "stock_conservation")["details"][0] == {
        "sku": "DB-1",
        "problem": "reserved 1 != 0 units held by open reservations",
    }


def test_rows_missing_on_either_side_of_the_migration_are_divergent() -> None:
    snap = clean_shop()
    snap.legacy = [snap.legacy[0], StockRow("GHOST", 1, 0, 0)]
    audit = audit_snapshot(snap, ledger())
    assert verdict(audit, "legacy_convergence")["details"] == [
        {"sku": "SKU-2", "problem": "missing from the legacy store"},
        {"sku": "GHOST", "problem": "in the legacy store but not in inventory"},
    ]


def test_details_are_capped_but_the_count_is_not() -> None:
    snap = clean_shop()
    snap.projection_mismatches = [{"order_id": f"o-{i}"} for i in range(MAX_DETAILS + 7)]
    inv = verdict(audit_snapshot(snap, ledger()), "projection_replay")
    assert inv["violations"] == MAX_DETAILS + 7
    assert len(inv["details"]) == MAX_DETAILS + 1
    assert inv["details"][-1] == {"note": "7 more not listed"}


def test_an_order_in_flight_past_its_stock_commit_counts_as_sold_and_may_be_captured() -> None:
    # Between "captured" and "confirmed" the saga only rolls forward: not a violation, but noted.
    snap = clean_shop()
    snap.orders.append(Order("o-6", "captured", 1000, (("DB-1", 1),), "k-6"))
    snap.captures.append(Capture("o-6", "o-6", 1000))
    snap.stock[0] = StockRow("DB-1", 15, 1, 4, initial=20)
    snap.legacy[0] = StockRow("DB-1", 15, 1, 4)
    audit = audit_snapshot(snap, ledger())
    assert audit["ok"] is True, broken(audit)
    assert verdict(audit, "stock_conservation")["details"] == [
        {"note": "1 orders still in flight (neither confirmed nor failed)"}
    ]


def test_a_capture_for_an_order_not_yet_past_its_stock_commit_is_without_order() -> None:
    snap = clean_shop()
    snap.orders.append(Order("o-7", "authorized", 1000, (("SKU-2", 1),), "k-7"))
    snap.captures.append(Capture("o-7", "o-7", 1000))
    assert broken(audit_snapshot(snap, ledger())) == ["no_capture_without_order"]


@pytest.mark.parametrize(
    ("sold_before", "sold", "bought", "problem"),
    [
        # A unit sold between the two looks at inventory, its order not yet marked: in flight.
        (3, 4, 3, None),
        # The same sale, recorded by its order before the orders were read.
        (3, 4, 4, None),
        # A unit sold before the audit began that no order bought: a failed order kept its stock.
        (4, 5, 3, "sold 4 before the orders were read and 5 after, but 3 units bought by orders"),
        # Orders bought more than inventory had sold even after they were read: oversold.
        (2, 3, 4, "sold 2 before the orders were read and 3 after, but 4 units bought by orders"),
        # Nothing sold while the audit read: the two looks agree and must match the orders exactly.
        (4, 4, 3, "sold 4 != 3 units bought by orders"),
        (3, 3, 4, "sold 3 != 4 units bought by orders"),
    ],
)
def test_units_bought_must_lie_between_inventory_before_and_after_the_orders_were_read(
    sold_before: int, sold: int, bought: int, problem: str | None
) -> None:
    snap = clean_shop()  # DB-1: 3 units bought by o-1 and o-2
    if bought > 3:
        snap.orders.append(Order("o-5", "stock_committed", 1000, (("DB-1", bought - 3),), "k-5"))
    snap.stock[0] = StockRow("DB-1", 19 - sold, 1, sold, initial=20)
    snap.sold_before = {"DB-1": sold_before, "SKU-2": 1}
    inv = verdict(audit_snapshot(snap, ledger()), "stock_conservation")
    violations = [d for d in inv["details"] if "note" not in d]
    assert violations == ([] if problem is None else [{"sku": "DB-1", "problem": problem}])
