"""Checkout end to end with real processes: catalog, inventory, payments, notifications and orders,
on the embedded profile (SQLite, bus on SQLite) and the services profile (PostgreSQL, carts in
Redis, RabbitMQ)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from retailflow.common.config import ServiceConfig
from retailflow.orders import audit_view as orders_view
from retailflow.payments import audit_view as payments_view
from tests.support.processes import run_service, wait_until
from tests.support.servers import fresh_postgres, require_server

T = 15  # seconds; generous for a loaded machine


@dataclass
class Shop:
    profile: str
    data_dir: Path
    env: dict[str, str]
    urls: dict[str, str]

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path

    def cart_with(self, *lines: tuple[str, int]) -> str:
        cart_id = requests.post(self.url("orders", "/carts"), timeout=T).json()["cart_id"]
        for sku, qty in lines:
            item = {"sku": sku, "qty": qty}
            resp = requests.post(self.url("orders", f"/carts/{cart_id}/items"), json=item, timeout=T)
            assert resp.status_code == 200, resp.text
        return cart_id

    def place(self, cart_id: str, key: str | None = None, token: str = "tok_visa") -> requests.Response:
        return requests.post(self.url("orders", "/orders"), headers={"Idempotency-Key": key or uuid.uuid4().hex},
                             json={"cart_id": cart_id, "payment_token": token, "customer_id": "c-1"}, timeout=30)

    def stock(self, sku: str) -> dict[str, int]:
        """Units of a sku by state (its version left out: every change bumps it)."""
        row = requests.get(self.url("inventory", f"/stock/{sku}"), timeout=T).json()
        return {k: row[k] for k in ("available", "reserved", "sold", "initial")}

    def orders_db(self):  # type: ignore[no-untyped-def]
        return orders_view.connect(ServiceConfig.from_env("orders", self.env))


def _start(profile: str, data_dir: Path, stack: ExitStack) -> Shop:
    env = {"RF_DATA_DIR": str(data_dir)}
    if profile == "services":
        for server in ("redis", "rabbitmq"):
            require_server(server)
        env.update({"RF_DB_URL": stack.enter_context(fresh_postgres()), "RF_CACHE_URL": "redis://127.0.0.1:6379/0",
                    "RF_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/"})
    urls: dict[str, str] = {}
    for service in ("catalog", "inventory", "payments"):
        [proc] = stack.enter_context(run_service(service, data_dir, env))
        urls[service] = proc.url
    upstreams = {f"RF_{name.upper()}_URL": url for name, url in urls.items()}
    if profile == "embedded":  # on a shared broker other shops' consumers would compete for the group's queue
        [proc] = stack.enter_context(run_service("notifications", data_dir, env))
        urls["notifications"] = proc.url
    [proc] = stack.enter_context(run_service("orders", data_dir, {**env, **upstreams}))
    urls["orders"] = proc.url
    requests.put(urls["payments"] + "/admin/provider", json={"latency_ms": 5, "failure_rate": 0}, timeout=T)
    return Shop(profile, data_dir, {**env, **upstreams}, urls)


@pytest.fixture(scope="module", params=["embedded", pytest.param("services", marks=pytest.mark.services)])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with ExitStack() as stack:
        yield _start(request.param, tmp_path_factory.mktemp(f"shop-{request.param}"), stack)


def _skus(shop: Shop) -> list[dict[str, Any]]:
    return list(requests.get(shop.url("catalog", "/products?per_page=10&sort=price_asc"), timeout=T).json()["items"])


def test_a_checkout_confirms_the_order_sells_the_stock_and_captures_the_payment_once(shop: Shop) -> None:
    product = _skus(shop)[0]
    sku = product["sku"]
    before = shop.stock(sku)
    cart_id = shop.cart_with((sku, 2))
    cart = requests.get(shop.url("orders", f"/carts/{cart_id}"), timeout=T).json()
    assert cart["items"] == [{"sku": sku, "qty": 2, "price_cents": product["price_cents"], "name": product["name"]}]

    resp = shop.place(cart_id)
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "confirmed" and order["total_cents"] == 2 * product["price_cents"]
    order_id = order["order_id"]

    stored = requests.get(shop.url("orders", f"/orders/{order_id}"), timeout=T).json()
    assert (stored["status"], stored["total_cents"]) == ("confirmed", order["total_cents"])
    events = requests.get(shop.url("orders", f"/orders/{order_id}/events"), timeout=T).json()
    assert [e["type"] for e in events] == ["OrderPlaced", "StockReserved", "PaymentAuthorized", "StockCommitted",
                                          "PaymentCaptured", "OrderConfirmed"]
    after = shop.stock(sku)
    assert (after["sold"] - before["sold"], after["available"] - before["available"]) == (2, -2)
    payment = requests.get(shop.url("payments", f"/payments/{order_id}"), timeout=T).json()
    assert payment["status"] == "captured" and payment["amount_cents"] == order["total_cents"]

    db = shop.orders_db()
    try:
        assert orders_view.confirmations(db)[order_id] == 1
        assert orders_view.replay_matches_projection(db) == []
    finally:
        db.close()
    if shop.profile == "services":  # carts live in Redis there, shared by every replica
        import redis

        assert redis.Redis.from_url(shop.env["RF_CACHE_URL"]).exists(f"rf:orders:cart:{cart_id}") == 1
    # The cart became the order: placing it again under a new key is refused.
    again = shop.place(cart_id)
    assert again.status_code == 409 and again.json()["error"] == "cart_checked_out"


def test_one_idempotency_key_sent_concurrently_and_again_places_one_order(shop: Shop) -> None:
    sku = _skus(shop)[1]["sku"]
    before = shop.stock(sku)
    cart_id, key = shop.cart_with((sku, 1)), f"key-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: shop.place(cart_id, key), range(6)))
    answers.append(shop.place(cart_id, key))
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers]
    assert len({r.json()["order_id"] for r in answers}) == 1
    assert shop.stock(sku)["sold"] - before["sold"] == 1
    db = shop.orders_db()
    try:
        placed = [o for o in orders_view.orders(db) if o["idempotency_key"] == key]
    finally:
        db.close()
    assert len(placed) == 1


def test_a_declined_payment_answers_402_and_releases_the_reserved_stock(shop: Shop) -> None:
    sku = _skus(shop)[2]["sku"]
    before = shop.stock(sku)
    resp = shop.place(shop.cart_with((sku, 3)), token="tok_decline")
    assert resp.status_code == 402, resp.text
    assert resp.json()["error"] == "payment_declined" and "declined" in resp.json()["detail"]
    order_id = resp.json()["order_id"]
    assert shop.stock(sku) == before
    reservation = requests.get(shop.url("inventory", f"/reservations/{order_id}"), timeout=T).json()
    assert reservation["status"] == "released"
    stored = requests.get(shop.url("orders", f"/orders/{order_id}"), timeout=T).json()
    assert (stored["status"], stored["failure"]) == ("failed", "payment_declined")


def test_a_sold_out_doorbuster_answers_409_naming_the_sku_and_charges_nothing(shop: Shop) -> None:
    doorbuster = requests.get(shop.url("catalog", "/doorbusters"), timeout=T).json()[0]["sku"]
    available = shop.stock(doorbuster)["available"]
    resp = shop.place(shop.cart_with((doorbuster, available + 1)))
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"] == "sold_out" and resp.json()["sku"] == doorbuster
    assert shop.stock(doorbuster)["available"] == available
    assert requests.get(shop.url("payments", f"/payments/{resp.json()['order_id']}"), timeout=T).status_code == 404


def test_a_confirmed_order_reaches_notifications_once(shop: Shop) -> None:
    if "notifications" not in shop.urls:
        pytest.skip("notifications run on the embedded bus here; a shared broker's group queue is not test-private")
    resp = shop.place(shop.cart_with((_skus(shop)[3]["sku"], 1)))
    order_id = resp.json()["order_id"]

    def delivered() -> list[dict[str, Any]]:
        got = requests.get(shop.url("notifications", f"/notifications?order_id={order_id}"), timeout=T).json()
        return list(got["items"])

    [note] = wait_until(delivered, timeout=30, what="the confirmation notification")
    assert note["kind"] == "order_confirmed" and f"Your order {order_id} is confirmed" in note["message"]


def test_every_confirmed_order_was_captured_exactly_once_and_projections_match_the_log(shop: Shop) -> None:
    db = shop.orders_db()
    try:
        confirmed = {o["order_id"] for o in orders_view.orders(db) if o["status"] == "confirmed"}
        assert confirmed and set(orders_view.confirmations(db)) == confirmed
        assert orders_view.replay_matches_projection(db) == []
    finally:
        db.close()
    pdb = payments_view.connect(ServiceConfig.from_env("payments", shop.env))
    try:
        captures = {c["order_id"]: c["captures"] for c in payments_view.captures(pdb)}
    finally:
        pdb.close()
    assert captures == dict.fromkeys(confirmed, 1)
