"""Shoppers for shop-wide tests: carts, checkouts and the ledger a client keeps, all through
the gateway's public API (docs/contracts.md, section 2)."""

from __future__ import annotations

import csv
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests

from doorbuster.runfolder import LEDGER_COLUMNS
from tests.support.shop import Shop

__all__ = ["Race", "api", "available", "ledger_row", "new_cart", "place_order", "race_for_a_doorbuster",
           "write_ledger"]  # fmt: skip

PAYMENT_TOKEN = "tok_visa"
DOORBUSTER_UNITS = 20


def api(shop: Shop, method: str, path: str, session: requests.Session | None = None, **kw: Any) -> requests.Response:
    return (session or requests).request(method, shop.url + path, timeout=60, **kw)


def new_cart(shop: Shop, items: list[tuple[str, int]], session: requests.Session | None = None) -> str:
    resp = api(shop, "POST", "/api/carts", session)
    assert resp.status_code == 201, resp.text
    cart_id = str(resp.json()["cart_id"])
    for sku, qty in items:
        resp = api(shop, "POST", f"/api/carts/{cart_id}/items", session, json={"sku": sku, "qty": qty})
        assert resp.status_code == 200, resp.text
    return cart_id


def place_order(shop: Shop, cart_id: str, key: str, session: requests.Session | None = None) -> requests.Response:
    body = {"cart_id": cart_id, "payment_token": PAYMENT_TOKEN, "customer_id": f"c-{key[:8]}"}
    return api(shop, "POST", "/api/orders", session, headers={"Idempotency-Key": key}, json=body)


def _final_business_answer(resp: requests.Response) -> bool:
    if resp.status_code == 201:
        return True
    return resp.status_code == 409 and _json(resp).get("error") == "sold_out"


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def buy_until_answered(
    shop: Shop, cart_id: str, session: requests.Session, retries: list[int], deadline_s: float = 120.0
) -> tuple[str, requests.Response]:
    """What a careful shopper does on a busy machine, until the shop says confirmed or sold out:
    an unclear answer (no answer, a 5xx, 429, or "still in progress") is asked again with the
    same Idempotency-Key, so a purchase that went through is never bought twice; only when the
    same key gives the same failure of the same order twice (it failed for good, its stock
    released) is "buy" pressed again, under a new key. Returns the key and the final answer."""
    deadline = time.monotonic() + deadline_s
    key = str(uuid.uuid4())
    previous: tuple[int, object] | None = None
    while True:
        try:
            resp = place_order(shop, cart_id, key, session)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            retries.append(0)  # no answer at all: ask again under the same key
            time.sleep(0.5)
            continue
        if _final_business_answer(resp) or time.monotonic() > deadline:
            return key, resp
        retries.append(resp.status_code)
        answer = (resp.status_code, _json(resp).get("order_id"))
        # Final only when the orders service itself answered for that order twice alike; a 5xx
        # without an order id (the gateway lost its upstream) says nothing about the purchase.
        if resp.status_code >= 500 and answer == previous and answer[1] is not None:
            key, previous = str(uuid.uuid4()), None  # a failed order: try again as a new purchase
        else:
            previous = answer
        time.sleep(0.5)


def available(shop: Shop, sku: str) -> int:
    resp = api(shop, "GET", f"/api/products/{sku}")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["stock"]["available"])


def ledger_row(key: str, body: dict[str, Any], journey: str = "checkout") -> dict[str, Any]:
    """What a client records for an order the shop confirmed (run folder `ledger.csv`)."""
    items = [{"sku": i["sku"], "qty": i["qty"]} for i in body["items"]]
    return {"order_id": body["order_id"], "idempotency_key": key, "items": items,
            "total_cents": body["total_cents"], "confirmed_ts": time.time(), "journey": journey}  # fmt: skip


def write_ledger(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LEDGER_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "items": orjson.dumps(row["items"]).decode()})
    return path


@dataclass
class Race:
    sku: str
    carts: list[str]
    keys: list[str]  # the key of each cart's final answer
    answers: list[tuple[str, int, dict[str, Any]]]  # (idempotency key, status, body), one per cart
    retries: list[int] = field(default_factory=list)

    @property
    def confirmed(self) -> list[tuple[str, dict[str, Any]]]:
        return [(key, body) for key, status, body in self.answers if status == 201]

    @property
    def sold_out(self) -> list[dict[str, Any]]:
        return [body for _, status, body in self.answers if status == 409]

    @property
    def ledger(self) -> list[dict[str, Any]]:
        return [ledger_row(key, body) for key, body in self.confirmed]


def race_for_a_doorbuster(shop: Shop, shoppers: int, during: Callable[[str], object] | None = None) -> Race:
    """`shoppers` carts of one unit of an untouched doorbuster, then every "buy" at the same moment;
    `during(sku)` runs alongside, from that same moment (a fault to inject mid-race)."""
    doorbusters = api(shop, "GET", "/api/doorbusters").json()
    sku = next(p["sku"] for p in doorbusters if available(shop, p["sku"]) == DOORBUSTER_UNITS)
    carts = [new_cart(shop, [(sku, 1)]) for _ in range(shoppers)]
    start = threading.Barrier(shoppers + 1)
    race = Race(sku, carts, [], [])

    def checkout(i: int) -> tuple[str, int, dict[str, Any]]:
        with requests.Session() as session:
            start.wait(timeout=60)
            key, resp = buy_until_answered(shop, carts[i], session, race.retries)
            return key, resp.status_code, _json(resp)

    def fault() -> None:
        start.wait(timeout=60)
        if during is not None:
            during(sku)

    with ThreadPoolExecutor(shoppers + 1) as pool:
        injected = pool.submit(fault)
        race.answers = list(pool.map(checkout, range(shoppers)))
        injected.result()
    race.keys = [key for key, _, _ in race.answers]
    return race
