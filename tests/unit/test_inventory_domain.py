"""Inventory's domain rules: stock moves conserve units, reservations move through their states once."""

from __future__ import annotations

import pytest

from retailflow.inventory.domain import events
from retailflow.inventory.domain.errors import InsufficientStock, InvalidReservation, ReservationClosed
from retailflow.inventory.domain.model import (
    COMMIT,
    RELEASE,
    RESERVE,
    Line,
    Reservation,
    Status,
    Stock,
    parse_items,
    validate_reservation_id,
    validate_ttl,
)


def held(now: float = 1000.0, ttl: int = 60) -> Reservation:
    return Reservation.hold("order-1", (Line("SKU-2", 1), Line("DB-0001", 2)), ttl, now)


def test_stock_moves_conserve_units_and_bump_the_version() -> None:
    stock = Stock("DB-0001", 20, 20, 0, 0)
    stock = stock.apply(RESERVE, 5).apply(COMMIT, 3).apply(RELEASE, 2)
    assert (stock.available, stock.reserved, stock.sold, stock.version) == (17, 0, 3, 3)
    assert stock.conserved


def test_a_stock_move_never_takes_more_than_the_source_bucket_holds() -> None:
    stock = Stock("DB-0001", 20, 2, 0, 18)
    with pytest.raises(InsufficientStock, match="'DB-0001' has fewer than 3 units"):
        stock.apply(RESERVE, 3)
    with pytest.raises(InsufficientStock):
        stock.apply(COMMIT, 1)  # nothing is reserved


def test_conservation_fails_for_negative_or_missing_units() -> None:
    assert not Stock("X", 20, -1, 0, 21).conserved
    assert not Stock("X", 20, 10, 0, 9).conserved


def test_items_are_validated_and_sorted_by_sku() -> None:
    lines = parse_items([{"sku": "b", "qty": 2}, {"sku": "a", "qty": 100}])
    assert lines == (Line("a", 100), Line("b", 2))


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "'items' must be a list of 1 to 50"),
        ("DB-0001", "'items' must be a list"),
        ([{"sku": "a", "qty": 0}], r"items\[0\].qty must be a whole number from 1 to 100"),
        ([{"sku": "a", "qty": 101}], r"items\[0\].qty must be a whole number from 1 to 100"),
        ([{"sku": "a", "qty": True}], r"items\[0\].qty"),
        ([{"sku": "a", "qty": 1.5}], r"items\[0\].qty"),
        ([{"sku": "", "qty": 1}], r"items\[0\].sku must be a string of 1 to 64"),
        ([{"sku": "a\x00b", "qty": 1}], r"items\[0\].sku must be a string of 1 to 64 printable characters"),
        ([{"sku": "a", "qty": 1}, {"sku": "a", "qty": 1}], r"items\[1\].sku 'a' appears twice"),
        ([[1, 2]], r"items\[0\] must be an object"),
        ([{"sku": "a", "qty": 1}] * 51, "1 to 50"),
    ],
)
def test_bad_items_are_refused_with_a_message_naming_the_field(items: object, message: str) -> None:
    with pytest.raises(InvalidReservation, match=message):
        parse_items(items)


def test_reservation_ids_and_ttls_are_bounded() -> None:
    assert validate_reservation_id("ord_1:a-b.c") == "ord_1:a-b.c"
    for bad in ("", "a/b", "x" * 101, 7, None):
        with pytest.raises(InvalidReservation, match="'reservation_id' must be 1-100 characters"):
            validate_reservation_id(bad)
    assert validate_ttl(1) == 1
    for bad in (0, -5, 86_401, "60", True):
        with pytest.raises(InvalidReservation, match="'ttl_s' must be a whole number of seconds"):
            validate_ttl(bad)


def test_a_held_reservation_commits_once_and_a_second_commit_is_a_no_op() -> None:
    reservation = held()
    committed, event = reservation.commit()
    assert committed.status == Status.COMMITTED
    assert isinstance(event, events.ReservationCommitted)
    assert event.to_json() == {
        "type": "ReservationCommitted",
        "reservation_id": "order-1",
        "items": [{"sku": "DB-0001", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
    }
    again, no_event = committed.commit()
    assert again == committed and no_event is None


def test_a_committed_reservation_cannot_be_released_and_a_released_one_cannot_be_committed() -> None:
    committed, _ = held().commit()
    with pytest.raises(ReservationClosed, match="'order-1' is committed; it cannot be released"):
        committed.release()
    released, event = held().release()
    assert isinstance(event, events.ReservationReleased)
    with pytest.raises(ReservationClosed, match="'order-1' is released; it cannot be committed"):
        released.commit()
    assert released.release() == (released, None)


def test_a_reservation_expires_only_when_held_past_its_ttl() -> None:
    reservation = held(now=1000.0, ttl=60)
    assert reservation.expire(1059.9) == (reservation, None)
    expired, event = reservation.expire(1060.0)
    assert expired.status == Status.EXPIRED
    assert isinstance(event, events.ReservationExpired)
    assert expired.expire(2000.0) == (expired, None)
    committed, _ = reservation.commit()
    assert committed.expire(5000.0) == (committed, None)  # sold units never come back by expiry


def test_releasing_an_expired_reservation_is_a_no_op_but_committing_it_is_refused() -> None:
    expired, _ = held().expire(10_000.0)
    assert expired.release() == (expired, None)
    with pytest.raises(ReservationClosed, match="is expired; it cannot be committed"):
        expired.commit()


def test_a_repeated_request_is_recognised_whatever_the_order_of_its_lines() -> None:
    reservation = held()
    assert reservation.same_request((Line("DB-0001", 2), Line("SKU-2", 1)))
    assert not reservation.same_request((Line("DB-0001", 3), Line("SKU-2", 1)))


def test_the_reserved_event_carries_the_expiry() -> None:
    event = held(now=1000.0, ttl=60).reserved_event().to_json()
    assert event["type"] == "StockReserved" and event["expires_at"] == 1060.0
