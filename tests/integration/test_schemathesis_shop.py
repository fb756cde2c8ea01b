"""Schemathesis against every service of a whole running shop: generated requests, including
malformed ones, from each service's own OpenAPI document never get a server error.

Unlike the per-service tests, the services here call real upstreams (the gateway the whole
shop, orders the saga through inventory and payments), and the ids in paths are real ones
(a cart with an item, a placed order, a held reservation), so generated requests reach the
logic behind the 404s rather than stopping at them.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from retailflow.common.config import SERVICES
from tests.support.shop import Shop, running_shop

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 5  # per operation: enough to hit every validation path with bad input, in bounded time

# Known defects of a service's document: (what schemathesis prints, where to fix it). The test
# xfails on exactly that message, fails on anything else, and fails once the defect is gone.
KNOWN: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_shop(tmp_path_factory.mktemp("shop")) as shop:
        yield shop


def _post(url: str, status: int, body: dict[str, object] | None = None, **kw: object) -> dict[str, object]:
    resp = requests.post(url, json=body, timeout=30, **kw)  # type: ignore[arg-type]
    assert resp.status_code == status, f"POST {url}: {resp.status_code} {resp.text}"
    return dict(resp.json())


@pytest.fixture(scope="module")
def config_file(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """schemathesis.toml pinning path and query ids to ones the shop knows."""
    sku = str(requests.get(shop.url + "/api/products", params={"per_page": 2}, timeout=30).json()["items"][0]["sku"])
    order_cart = _post(shop.url + "/api/carts", 201)["cart_id"]
    _post(f"{shop.url}/api/carts/{order_cart}/items", 200, {"sku": sku, "qty": 1})
    order = _post(
        shop.url + "/api/orders",
        201,
        {"cart_id": order_cart, "payment_token": "tok_visa", "customer_id": "c-st"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    cart = _post(shop.url + "/api/carts", 201)["cart_id"]
    _post(f"{shop.url}/api/carts/{cart}/items", 200, {"sku": sku, "qty": 1})
    reservation = f"st-{uuid.uuid4().hex[:12]}"
    _post(
        shop.service_url("inventory") + "/reservations",
        201,
        {"reservation_id": reservation, "items": [{"sku": sku, "qty": 1}], "ttl_s": 600},
    )
    path = tmp_path_factory.mktemp("schemathesis") / "schemathesis.toml"
    path.write_text(
        "[parameters]\n"
        f'"path.cart_id" = "{cart}"\n'
        f'"query.cart_id" = "{cart}"\n'
        f'"path.order_id" = "{order["order_id"]}"\n'
        f'"path.reservation_id" = "{reservation}"\n'
    )  # fmt: skip
    return path


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_finds_no_server_error_in_the_running_shop(
    shop: Shop, config_file: Path, service: str, tmp_path: Path
) -> None:
    url = shop.service_url(service)
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file),
         "run", f"{url}/openapi.json",
         "--checks", "not_a_server_error",
         "--max-examples", str(MAX_EXAMPLES),
         "--seed", "20261125",
         "--workers", "1",
         "--phases", "examples,coverage,fuzzing",
         "--generation-database", "none",
         "--suppress-health-check", "all",
         "--request-timeout", "15",
         "--no-color",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    if service in KNOWN:
        message, reason = KNOWN[service]
        assert result.returncode != 0, f"{service} passes now: drop it from KNOWN ({reason})"
        errors = result.stdout.split("SUMMARY")[0]
        if message in errors and "Server error" not in result.stdout and "FAILURES" not in result.stdout:
            pytest.xfail(reason)
    # Exit 0 with warnings (e.g. "schema validation mismatch") is fine; failures and errors are not.
    assert result.returncode == 0, f"{service}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert "Server error" not in result.stdout
