"""The Order aggregate is a fold over its events and only takes the saga's legal steps."""

from __future__ import annotations

import pytest

from retailflow.orders.domain import events as ev
from retailflow.orders.domain.cart import Cart
from retailflow.orders.domain.errors import CartCheckedOut, CartLimitExceeded, CartLineNotFound, InvalidTransition
from retailflow.orders.domain.model import Order, fold
from tests.support.orders import CONFIRMED_HISTORY

ITEMS = (
    {"sku": "SKU-1", "qty": 2, "price_cents": 1500, "name": "Lamp"},
    {"sku": "SKU-2", "qty": 1, "price_cents": 999, "name": "Mug"},
)


def placed() -> Order:
    return Order.place("o-1", ITEMS, "c-1", "key-1")


def test_placing_totals_the_lines_and_records_order_placed() -> None:
    order = placed()
    assert order.status == "placed"
    assert order.state.total_cents == 2 * 1500 + 999
    assert [e.type for e in order.pending] == ["OrderPlaced"]


def test_the_happy_path_folds_to_confirmed_and_replays_to_the_same_state() -> None:
    order = placed()
    order.reserve("o-1")
    order.authorize("o-1")
    order.commit_stock()
    order.capture()
    order.confirm()
    assert [e.type for e in order.pending] == CONFIRMED_HISTORY
    replayed = fold("o-1", order.pending)
    assert replayed == order.state
    assert replayed.status == "confirmed" and replayed.version == 6 and replayed.payment_id == "o-1"


def test_a_stored_event_round_trips_through_its_payload() -> None:
    order = placed()
    order.fail("sold_out", "not enough stock of SKU-2", "SKU-2")
    stored = [ev.event_from_payload(e.type, e.payload()) for e in order.pending]
    assert stored == order.pending
    assert fold("o-1", stored).failed_sku == "SKU-2"


def test_an_order_cannot_confirm_before_its_payment_is_captured() -> None:
    order = placed()
    order.reserve("o-1")
    with pytest.raises(InvalidTransition, match="OrderConfirmed cannot follow status 'reserved'"):
        order.confirm()


def test_a_failed_order_takes_no_further_steps() -> None:
    order = placed()
    order.fail("payment_declined")
    with pytest.raises(InvalidTransition, match="cannot follow status 'failed'"):
        order.reserve("o-1")


def test_compensation_events_are_recorded_once_and_keep_the_status() -> None:
    order = placed()
    order.reserve("o-1")
    order.release_stock("o-1")
    order.release_stock("o-1")
    assert [e.type for e in order.pending].count("StockReleased") == 1
    assert order.status == "reserved" and order.state.released


def test_an_empty_order_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="at least one item"):
        Order.place("o-2", [], "c", "k")


def test_stored_version_counts_only_events_already_in_the_store() -> None:
    order = Order.rehydrate("o-1", placed().pending)
    order.reserve("o-1")
    assert order.stored_version == 1 and order.state.version == 2


def test_a_cart_adds_to_a_line_and_caps_each_line_at_100_units() -> None:
    cart = Cart("c")
    cart.add("SKU-1", 60, 100, "Lamp")
    cart.add("SKU-1", 40, 100, "Lamp")
    assert cart.items() == [{"sku": "SKU-1", "qty": 100, "price_cents": 100, "name": "Lamp"}]
    assert cart.total_cents == 10_000
    with pytest.raises(CartLimitExceeded, match="at most 100 units of SKU-1; it would hold 101"):
        cart.add("SKU-1", 1, 100, "Lamp")


@pytest.mark.parametrize("qty", [0, -1, 101, 10**12])
def test_a_cart_refuses_quantities_outside_1_to_100(qty: int) -> None:
    with pytest.raises(CartLimitExceeded, match="qty must be between 1 and 100"):
        Cart("c").add("SKU-1", qty, 100, "Lamp")


def test_removing_a_missing_line_or_editing_a_checked_out_cart_is_refused() -> None:
    cart = Cart("c")
    with pytest.raises(CartLineNotFound, match="has no item SKU-9"):
        cart.remove("SKU-9")
    cart.order_id = "o-1"
    with pytest.raises(CartCheckedOut, match="already checked out as order o-1"):
        cart.add("SKU-1", 1, 100, "Lamp")
