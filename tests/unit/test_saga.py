"""The checkout saga and idempotent placement, against the real SQLite event store and fake
upstreams that subclass the real ports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from retailflow.common.db import Database
from retailflow.orders import audit_view
from retailflow.orders.adapters.carts import SqlCartRepository, create_cart_schema
from retailflow.orders.adapters.event_store import SqlOrderRepository, create_schema, rebuild_projections
from retailflow.orders.domain.cart import Cart
from retailflow.orders.domain.commands import PlaceOrder
from retailflow.orders.domain.model import Order
from retailflow.orders.service_layer import ports
from retailflow.orders.service_layer.handlers import Checkout, KeyReused
from retailflow.orders.service_layer.recovery import recover_stale_orders
from retailflow.orders.service_layer.saga import CheckoutSaga
from tests.support.orders import CONFIRMED_HISTORY


class FakeInventory(ports.Inventory):
    def __init__(self, stock: dict[str, int], delay_s: float = 0.0) -> None:
        self.stock = dict(stock)
        self.held: dict[str, list[dict[str, Any]]] = {}
        self.committed: set[str] = set()
        self.released: list[str] = []
        self.calls: list[str] = []
        self.failing: set[str] = set()
        self.lost_answers: set[str] = set()  # applied, but the answer never reaches the caller
        self.delay_s = delay_s

    def _maybe_fail(self, op: str) -> None:
        self.calls.append(op)
        if op in self.failing:
            raise ports.UpstreamFailed(f"inventory did not answer ({op} timed out)")

    async def reserve(self, reservation_id: str, items: Sequence[dict[str, Any]], ttl_s: int) -> ports.Reservation:
        await asyncio.sleep(self.delay_s)
        self._maybe_fail("reserve")
        for item in items:
            if self.stock.get(item["sku"], 0) < item["qty"]:
                return ports.Reservation(False, item["sku"])
        for item in items:
            self.stock[item["sku"]] -= item["qty"]
        self.held[reservation_id] = list(items)
        return ports.Reservation(True)

    async def commit(self, reservation_id: str) -> bool:
        self._maybe_fail("commit")
        if reservation_id not in self.held:
            return False
        self.committed.add(reservation_id)
        if "commit" in self.lost_answers:
            raise ports.UpstreamFailed("inventory did not answer (commit timed out after applying)")
        return True

    async def release(self, reservation_id: str) -> None:
        self._maybe_fail("release")
        if reservation_id in self.committed:  # as the real inventory answers: 409 reservation_committed
            raise ports.StockAlreadyCommitted(f"reservation {reservation_id} is already committed")
        for item in self.held.pop(reservation_id, []):
            self.stock[item["sku"]] += item["qty"]
        self.released.append(reservation_id)


class FakePayments(ports.Payments):
    def __init__(self) -> None:
        self.authorized: dict[str, int] = {}
        self.captures: list[str] = []
        self.voided: list[str] = []
        self.failing: set[str] = set()

    def _maybe_fail(self, op: str) -> None:
        if op in self.failing:
            raise ports.UpstreamFailed(f"payments did not answer ({op})")

    async def authorize(self, payment_id: str, order_id: str, amount_cents: int, token: str) -> bool:
        self._maybe_fail("authorize")
        if token == "tok_decline":
            return False
        self.authorized[payment_id] = amount_cents
        return True

    async def capture(self, payment_id: str) -> None:
        self._maybe_fail("capture")
        self.captures.append(payment_id)

    async def void(self, payment_id: str) -> None:
        self._maybe_fail("void")
        self.voided.append(payment_id)


class World:
    def __init__(self, tmp: Path, delay_s: float = 0.0) -> None:
        self.db = Database(f"sqlite:///{tmp / 'orders.db'}").connect()
        create_schema(self.db)
        create_cart_schema(self.db)
        self.orders = SqlOrderRepository(self.db)
        self.carts = SqlCartRepository(self.db)
        self.inventory = FakeInventory({"SKU-1": 5, "SKU-2": 1}, delay_s)
        self.payments = FakePayments()
        self.saga = CheckoutSaga(self.orders, self.inventory, self.payments)
        self.checkout = Checkout(self.orders, self.carts, self.saga)

    def cart(self, *lines: tuple[str, int]) -> str:
        cart = Cart(f"cart-{len(self.db.fetchall('SELECT cart_id FROM carts'))}")
        for sku, qty in lines:
            cart.add(sku, qty, 1000, sku.lower())
        asyncio.run(self.carts.create(cart))
        return cart.cart_id

    def place(self, cart_id: str, key: str = "k-1", token: str = "tok_visa") -> ports.Outcome:
        return asyncio.run(self.checkout.place(PlaceOrder(cart_id, key, "c-1", token)))

    def event_types(self, order_id: str) -> list[str]:
        return [e["type"] for e in self.orders.events(order_id)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.db.close()


def test_a_successful_checkout_reserves_authorizes_commits_captures_and_confirms(world: World) -> None:
    outcome = world.place(world.cart(("SKU-1", 2)))
    assert outcome.status == 201
    order_id = outcome.body["order_id"]
    assert outcome.body["status"] == "confirmed" and outcome.body["total_cents"] == 2000
    assert world.event_types(order_id) == CONFIRMED_HISTORY
    assert world.inventory.committed == {order_id} and world.payments.captures == [order_id]
    assert world.orders.projection(order_id)["status"] == "confirmed"
    assert audit_view.confirmations(world.db) == {order_id: 1}
    assert audit_view.replay_matches_projection(world.db) == []


def test_a_sold_out_sku_fails_the_order_with_409_naming_it_and_charges_nothing(world: World) -> None:
    outcome = world.place(world.cart(("SKU-1", 1), ("SKU-2", 2)))
    assert outcome.status == 409
    assert outcome.body["error"] == "sold_out" and outcome.body["sku"] == "SKU-2"
    assert world.event_types(outcome.body["order_id"]) == ["OrderPlaced", "OrderFailed"]
    assert world.payments.authorized == {} and world.inventory.stock == {"SKU-1": 5, "SKU-2": 1}


def test_a_declined_payment_releases_the_reservation_and_answers_402(world: World) -> None:
    outcome = world.place(world.cart(("SKU-1", 3)), token="tok_decline")
    assert outcome.status == 402 and outcome.body["error"] == "payment_declined"
    order_id = outcome.body["order_id"]
    assert world.inventory.released == [order_id] and world.inventory.stock["SKU-1"] == 5
    # The stock is released first: only then is it known that no commit slipped through.
    assert world.event_types(order_id)[-3:] == ["StockReleased", "PaymentVoided", "OrderFailed"]
    assert world.orders.projection(order_id)["failure"] == "payment_declined"


def test_payments_down_after_the_reservation_releases_it_voids_and_answers_503(world: World) -> None:
    world.payments.failing = {"authorize"}
    outcome = world.place(world.cart(("SKU-1", 1)))
    assert outcome.status == 503 and outcome.body["error"] == "payments_unavailable"
    assert "authorizing the payment failed: payments did not answer" in outcome.body["detail"]
    assert outcome.body["compensation"] == {"payment_voided": True, "stock_released": True}
    assert world.inventory.stock["SKU-1"] == 5 and world.payments.voided == [outcome.body["order_id"]]


def test_an_inventory_timeout_on_commit_voids_the_payment_and_releases_the_stock(world: World) -> None:
    world.inventory.failing = {"commit"}
    outcome = world.place(world.cart(("SKU-1", 1)))
    assert outcome.status == 503 and outcome.body["error"] == "inventory_unavailable"
    order_id = outcome.body["order_id"]
    assert world.payments.voided == [order_id] and world.payments.captures == []
    assert world.inventory.released == [order_id]
    assert world.event_types(order_id)[-3:] == ["StockReleased", "PaymentVoided", "OrderFailed"]


def test_a_failed_compensation_is_reported_and_the_order_still_fails(world: World) -> None:
    world.payments.failing = {"authorize"}
    world.inventory.failing = {"release"}
    outcome = world.place(world.cart(("SKU-1", 1)))
    assert outcome.status == 503
    assert outcome.body["compensation"] == {"payment_voided": True, "stock_released": False}
    assert world.orders.projection(outcome.body["order_id"])["status"] == "failed"


def test_the_same_idempotency_key_returns_the_first_answer_without_a_second_checkout(world: World) -> None:
    cart_id = world.cart(("SKU-1", 1))
    first = world.place(cart_id, key="same")
    second = world.place(cart_id, key="same")
    assert second == first and second.body["order_id"] == first.body["order_id"]
    assert world.inventory.calls.count("reserve") == 1 and len(world.payments.captures) == 1


def test_a_failed_answer_is_replayed_too(world: World) -> None:
    cart_id = world.cart(("SKU-1", 1))
    first = world.place(cart_id, key="k", token="tok_decline")
    assert world.place(cart_id, key="k", token="tok_decline") == first
    assert world.inventory.calls.count("reserve") == 1


def test_concurrent_duplicates_with_one_key_place_exactly_one_order(tmp_path: Path) -> None:
    world = World(tmp_path, delay_s=0.2)  # the first saga is still running when the duplicates arrive
    cart_id = world.cart(("SKU-1", 1))

    async def race() -> list[ports.Outcome]:
        cmd = PlaceOrder(cart_id, "dup", "c-1", "tok_visa")
        return list(await asyncio.gather(*(world.checkout.place(cmd) for _ in range(5))))

    outcomes = asyncio.run(race())
    assert {o.status for o in outcomes} == {201}
    assert len({o.body["order_id"] for o in outcomes}) == 1
    assert world.db.fetchone("SELECT COUNT(*) AS n FROM orders")["n"] == 1
    assert world.inventory.calls.count("reserve") == 1


def test_a_key_reused_for_another_cart_is_refused_with_a_clear_message(world: World) -> None:
    world.place(world.cart(("SKU-1", 1)), key="k")
    with pytest.raises(KeyReused, match="already used for a different cart"):
        world.place(world.cart(("SKU-1", 2)), key="k")


def test_a_confirmed_cart_cannot_be_ordered_again_under_a_new_key(world: World) -> None:
    cart_id = world.cart(("SKU-1", 1))
    first = world.place(cart_id, key="a")
    with pytest.raises(Exception, match=f"already checked out as order {first.body['order_id']}"):
        world.place(cart_id, key="b")


def _stuck(world: World, steps: int) -> Order:
    """An order whose saga died after `steps` steps (the process crashed mid-checkout)."""
    order = Order.place("stuck", [{"sku": "SKU-1", "qty": 1, "price_cents": 1000, "name": "x"}], "c", "k-stuck")
    world.orders.add(order, idempotency_key="k-stuck", request_hash="h")
    asyncio.run(world.inventory.reserve("stuck", order.state.items, 60))
    for step in [order.reserve, order.authorize][:steps]:
        step("stuck")
    if steps >= 3:
        order.commit_stock()
        world.inventory.committed.add("stuck")
    world.orders.save(order)
    return order


def test_recovery_compensates_an_interrupted_saga_before_the_stock_was_committed(world: World) -> None:
    _stuck(world, steps=2)
    assert world.inventory.stock["SKU-1"] == 4
    assert asyncio.run(recover_stale_orders(world.orders, world.saga, older_than_s=0)) == 1
    assert world.inventory.stock["SKU-1"] == 5 and world.payments.voided == ["stuck"]
    claim = world.orders.claim("k-stuck")
    assert claim is not None and claim.outcome is not None
    assert claim.outcome.status == 503 and claim.outcome.body["error"] == "checkout_interrupted"
    assert asyncio.run(recover_stale_orders(world.orders, world.saga, older_than_s=0)) == 0


def test_recovery_rolls_forward_an_interrupted_saga_whose_stock_was_committed(world: World) -> None:
    _stuck(world, steps=3)
    assert asyncio.run(recover_stale_orders(world.orders, world.saga, older_than_s=0)) == 1
    assert world.orders.projection("stuck")["status"] == "confirmed"
    assert world.payments.captures == ["stuck"]
    claim = world.orders.claim("k-stuck")
    assert claim is not None and claim.outcome is not None and claim.outcome.status == 201


def test_recovery_leaves_orders_younger_than_the_threshold_alone(world: World) -> None:
    _stuck(world, steps=1)
    assert asyncio.run(recover_stale_orders(world.orders, world.saga, older_than_s=3600)) == 0
    assert world.orders.projection("stuck")["status"] == "reserved"


def test_a_capture_outage_leaves_the_order_pending_until_recovery_confirms_it(world: World) -> None:
    world.payments.failing = {"capture"}
    world.saga.capture_attempts = 1
    cart_id = world.cart(("SKU-1", 1))
    outcome = world.place(cart_id, key="cap")
    assert outcome.status == 503 and outcome.body["error"] == "capture_pending"
    claim = world.orders.claim("cap")
    assert claim is not None and claim.outcome is None  # not final: a retry waits for recovery
    world.payments.failing = set()
    assert asyncio.run(recover_stale_orders(world.orders, world.saga, older_than_s=0)) == 1
    replay = world.place(cart_id, key="cap")
    assert replay.status == 201 and replay.body["order_id"] == outcome.body["order_id"]
    assert world.payments.captures == [outcome.body["order_id"]]


def test_two_writers_at_the_same_position_conflict_instead_of_forking_the_log(world: World) -> None:
    outcome = world.place(world.cart(("SKU-1", 1)), token="tok_decline")
    order_id = outcome.body["order_id"]
    # A writer that missed the stored events tries to append at position 1 again.
    again = Order.place(order_id, [{"sku": "SKU-1", "qty": 1, "price_cents": 1, "name": "x"}], "c", "k2")
    with pytest.raises(ports.ConcurrencyConflict, match=f"order {order_id} was changed by someone else"):
        world.orders.save(again)
    assert world.event_types(order_id) == [
        "OrderPlaced",
        "StockReserved",
        "StockReleased",
        "PaymentVoided",
        "OrderFailed",
    ]


def test_a_rebuilt_projection_equals_the_one_kept_in_step(world: World) -> None:
    for key, token in [("a", "tok_visa"), ("b", "tok_decline")]:
        world.place(world.cart(("SKU-1", 1)), key=key, token=token)
    before = audit_view.orders(world.db)
    world.db.execute("UPDATE orders SET status = 'placed'")
    assert len(audit_view.replay_matches_projection(world.db)) == 2
    assert rebuild_projections(world.db) == 2
    assert audit_view.orders(world.db) == before
    assert audit_view.replay_matches_projection(world.db) == []


def test_a_commit_whose_answer_was_lost_rolls_forward_instead_of_failing_a_sold_order(world: World) -> None:
    world.inventory.lost_answers.add("commit")
    outcome = world.place(world.cart(("SKU-1", 2)))
    assert outcome.status == 201, outcome.body
    oid = outcome.body["order_id"]
    assert oid in world.inventory.committed and oid not in world.inventory.released
    assert world.payments.captures == [oid] and world.payments.voided == []
    assert world.event_types(oid)[-3:] == ["StockCommitted", "PaymentCaptured", "OrderConfirmed"]
