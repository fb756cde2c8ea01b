"""Shop-wide acceptance (issue 2): the whole shop on the local runtime, driven through the
gateway as shoppers would, then audited straight from its stores.

One shop serves the module (starting eleven processes is the expensive part); each test uses
its own SKUs, so neither sees the other's orders as its own.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from doorbuster.runfolder import LEDGER_COLUMNS
from retailflow.audit import run_audit
from retailflow.audit.cli import audit_config
from tests.support.processes import wait_until
from tests.support.shop import Shop, running_shop

pytestmark = pytest.mark.slow

SHOPPERS = 100
DOORBUSTER_UNITS = 20
PAYMENT_TOKEN = "tok_visa"
CONVERGENCE_DEADLINE_S = 60.0  # the dual-write outbox retries and the reconciler repairs within this


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_shop(tmp_path_factory.mktemp("shop")) as shop:
        yield shop


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
    return api(
        shop,
        "POST",
        "/api/orders",
        session,
        headers={"Idempotency-Key": key},
        json={"cart_id": cart_id, "payment_token": PAYMENT_TOKEN, "customer_id": f"c-{key[:8]}"},
    )


def place_order_until_answered(
    shop: Shop, cart_id: str, key: str, session: requests.Session, retries: list[int], deadline_s: float = 90.0
) -> requests.Response:
    """What a careful client does: on a 5xx or 429 (a busy 2-core machine) ask again with the same
    Idempotency-Key until the shop gives its final answer."""
    deadline = time.monotonic() + deadline_s
    while True:
        resp = place_order(shop, cart_id, key, session)
        if (resp.status_code < 500 and resp.status_code != 429) or time.monotonic() > deadline:
            return resp
        retries.append(resp.status_code)
        time.sleep(0.5)


def ledger_row(key: str, body: dict[str, Any], journey: str) -> dict[str, Any]:
    """What a client records for an order the shop confirmed (run folder `ledger.csv`)."""
    items = [{"sku": i["sku"], "qty": i["qty"]} for i in body["items"]]
    return {
        "order_id": body["order_id"],
        "idempotency_key": key,
        "items": items,
        "total_cents": body["total_cents"],
        "confirmed_ts": time.time(),
        "journey": journey,
    }


def write_ledger(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LEDGER_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "items": orjson.dumps(row["items"]).decode()})
    return path


def available(shop: Shop, sku: str) -> int:
    resp = api(shop, "GET", f"/api/products/{sku}")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["stock"]["available"])


def failed(audit: dict[str, Any]) -> dict[str, Any]:
    return {inv["name"]: inv["details"][:5] for inv in audit["invariants"] if not inv["ok"]}


def converged(shop: Shop) -> dict[str, Any]:
    audit = run_audit(audit_config(shop.data_dir), None)
    return next(inv for inv in audit["invariants"] if inv["name"] == "legacy_convergence")


def test_concurrent_checkouts_never_oversell_a_doorbuster_sku(shop: Shop, tmp_path: Path) -> None:
    doorbusters = api(shop, "GET", "/api/doorbusters").json()
    sku = next(p["sku"] for p in doorbusters if available(shop, p["sku"]) == DOORBUSTER_UNITS)
    carts = [new_cart(shop, [(sku, 1)]) for _ in range(SHOPPERS)]
    keys = [str(uuid.uuid4()) for _ in range(SHOPPERS)]
    start = threading.Barrier(SHOPPERS)
    retries: list[int] = []

    def checkout(i: int) -> tuple[str, int, dict[str, Any]]:
        with requests.Session() as session:
            start.wait(timeout=60)  # every shopper presses "buy" at once
            resp = place_order_until_answered(shop, carts[i], keys[i], session, retries)
            return keys[i], resp.status_code, resp.json()

    with ThreadPoolExecutor(SHOPPERS) as pool:
        answers = list(pool.map(checkout, range(SHOPPERS)))

    statuses = sorted({status for _, status, _ in answers})
    confirmed = [(key, body) for key, status, body in answers if status == 201]
    sold_out = [body for _, status, body in answers if status == 409]
    assert statuses == [201, 409], f"only 201 and 409 are right answers, got {statuses}: " + str(
        [b for _, s, b in answers if s not in (201, 409)][:3]
    )
    assert len(confirmed) == DOORBUSTER_UNITS
    assert all(body["status"] == "confirmed" for _, body in confirmed)
    assert len({body["order_id"] for _, body in confirmed}) == DOORBUSTER_UNITS
    assert all(body["error"] == "sold_out" and body["sku"] == sku for body in sold_out)
    assert available(shop, sku) == 0
    print(f"{SHOPPERS} checkouts answered; {len(retries)} retries with the same key ({sorted(set(retries))})")

    # A retried "buy" answers with the first order, and places nothing new.
    key, body = confirmed[0]
    again = place_order(shop, carts[keys.index(key)], key)
    assert (again.status_code, again.json()["order_id"]) == (201, body["order_id"])

    ledger = [ledger_row(key, body, "checkout") for key, body in confirmed]
    audit = shop.client.audit(ledger)  # the runtime's POST /audit
    assert audit["ok"] is True, failed(audit)
    stock = next(inv for inv in audit["invariants"] if inv["name"] == "stock_conservation")
    assert stock["violations"] == 0

    # And the command line agrees, reading the same ledger from a file.
    path = write_ledger(tmp_path / "ledger.csv", ledger)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "doorbuster.cli",
            "audit",
            "--ledger",
            str(path),
            "--data-dir",
            str(shop.data_dir),
            "--json",
            "--out",
            str(tmp_path / "audit.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert orjson.loads((tmp_path / "audit.json").read_bytes())["ok"] is True

    # The ledger of a client who was told of an order the shop does not have fails the audit.
    lost = [*ledger, {**ledger[0], "order_id": "never-placed", "idempotency_key": "k-lost"}]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "doorbuster.cli",
            "audit",
            "--ledger",
            str(write_ledger(tmp_path / "lost.csv", lost)),
            "--data-dir",
            str(shop.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "FAIL ledger_orders_exist" in cli.stdout


def test_the_legacy_store_converges_after_a_dual_write_partition_heals(shop: Shop) -> None:
    link = "inventory->legacy"
    assert link in [entry["name"] for entry in shop.client.status()["links"]]
    products = api(shop, "GET", "/api/products", params={"per_page": 24, "page": 3}).json()["items"]
    skus = [p["sku"] for p in products if not p["doorbuster"]][:5]
    assert len(skus) == 5
    wait_until(
        lambda: converged(shop)["violations"] == 0,
        timeout=CONVERGENCE_DEADLINE_S,
        what="a converged legacy store before the partition",
    )

    shop.client.cut_link(link, "blackhole")
    ledger = []
    try:
        for sku in skus:
            key = str(uuid.uuid4())
            resp = place_order(shop, new_cart(shop, [(sku, 1)]), key)
            # Inventory is the source of truth: checkout goes on while legacy is cut off.
            assert resp.status_code == 201, resp.text
            ledger.append(ledger_row(key, resp.json(), "checkout"))
        during = converged(shop)
        # The cut is real: the legacy store misses the orders' stock moves while it lasts.
        assert {d["sku"] for d in during["details"] if "sku" in d} >= set(skus), during
    finally:
        shop.client.heal_link(link)
    healed_at = time.monotonic()

    wait_until(
        lambda: converged(shop)["violations"] == 0,
        timeout=CONVERGENCE_DEADLINE_S,
        what=f"legacy convergence within {CONVERGENCE_DEADLINE_S}s of the heal",
    )
    took = time.monotonic() - healed_at
    audit = shop.client.audit(ledger)
    assert audit["ok"] is True, failed(audit)
    print(f"legacy converged {took:.1f}s after the heal")
