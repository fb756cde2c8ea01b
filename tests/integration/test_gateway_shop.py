"""The gateway in front of the real services (catalog, inventory + legacy, payments, orders), each a
real process on the embedded profile: pages carry their markers, the API round trip works, a
browser's form flow ends on an order page, and schemathesis finds no server error.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from retailflow.seed.catalog import generate
from tests.support.fuzz import assert_no_server_error
from tests.support.processes import ServiceProcess, run_service

pytestmark = pytest.mark.slow

PRODUCTS = 2000  # tests/support/processes.py seeds every store with this many
SHOP = ("legacy", "inventory", "catalog", "payments", "orders")
# These tests look for wrong answers, not for overload: on a busy 2-core machine a slow upstream
# must not turn into a timeout 503 or an open circuit that reads as a server error.
PATIENT = {
    "RF_CATALOG_TIMEOUT_S": "15",
    "RF_INVENTORY_TIMEOUT_S": "15",
    "RF_ORDERS_TIMEOUT_S": "30",
    "RF_BREAKER_FAILURES": "1000",
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The shop's services, each a real process: the data folder and `RF_<NAME>_URL` of each."""
    missing = [s for s in SHOP if importlib.util.find_spec(f"retailflow.{s}.bootstrap") is None]
    if missing:
        pytest.skip(f"the shop's services are not built yet: {', '.join(missing)}")
    data_dir = tmp_path_factory.mktemp("shop")
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        for service in SHOP:
            (proc,) = stack.enter_context(run_service(service, data_dir, dict(urls)))
            urls[f"RF_{service.upper()}_URL"] = proc.url
        yield data_dir, urls


@pytest.fixture(scope="module")
def gateway(services: tuple[Path, dict[str, str]]) -> Iterator[ServiceProcess]:
    data_dir, urls = services
    with run_service("gateway", data_dir, {**urls, **PATIENT}, seed=False) as (gw,):
        yield gw


@pytest.fixture(scope="module")
def slow_stock_gateway(services: tuple[Path, dict[str, str]]) -> Iterator[ServiceProcess]:
    """A second gateway replica that keeps stock for 10 minutes: what it shows comes from its
    cache unless the cache was bypassed or told of a sale, so a test of either cannot pass by luck."""
    data_dir, urls = services
    with run_service("gateway", data_dir, {**urls, **PATIENT, "RF_GATEWAY_STOCK_TTL_S": "600"}, seed=False) as (gw,):
        yield gw


@pytest.fixture(scope="module")
def catalog() -> object:
    return generate(seed=42, products=PRODUCTS)


def get(gateway: ServiceProcess, path: str, **kw: object) -> requests.Response:
    return requests.get(gateway.url + path, timeout=30, **kw)  # type: ignore[arg-type]


def page_kind(html: str) -> str:
    match = re.search(r'<body data-page="([a-z]+)"', html)
    return match.group(1) if match else ""


def test_the_home_page_links_to_categories_and_products(gateway: ServiceProcess) -> None:
    home = get(gateway, "/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert page_kind(home.text) == "home"
    assert "<title>Home · RetailFlow</title>" in home.text
    assert re.search(r'href="/c/[a-z0-9-]+"', home.text)
    assert 'href="/p/DB-0001"' in home.text  # the doorbusters are on the home page


def test_a_category_page_lists_product_links_and_paginates(gateway: ServiceProcess) -> None:
    categories = get(gateway, "/api/categories").json()
    leaf = max((c for c in categories if c["parent"]), key=lambda c: c["product_count"])
    first = get(gateway, f"/c/{leaf['slug']}")
    assert first.status_code == 200
    assert page_kind(first.text) == "category"
    assert f"<h1>{leaf['name']}</h1>" in first.text
    assert len(re.findall(r'href="/p/[A-Z0-9-]+"', first.text)) >= min(24, leaf["product_count"])
    if leaf["product_count"] > 24:
        assert f'href="/c/{leaf["slug"]}?page=2"' in first.text
        second = get(gateway, f"/c/{leaf['slug']}?page=2")
        assert second.status_code == 200 and 'rel="prev"' in second.text
    unknown = get(gateway, "/c/no-such-category")
    assert unknown.status_code == 404 and page_kind(unknown.text) == "error"
    bad_page = get(gateway, f"/c/{leaf['slug']}?page=abc")
    assert bad_page.status_code == 400
    assert "query parameter &#39;page&#39; must be a whole number" in bad_page.text


def test_the_product_page_has_the_name_in_h1_the_sku_marker_and_the_stock(gateway: ServiceProcess, catalog) -> None:  # type: ignore[no-untyped-def]
    product = catalog.by_sku["SKU-000007"]
    page = get(gateway, "/p/SKU-000007")
    assert page.status_code == 200
    assert page_kind(page.text) == "product"
    assert 'data-sku="SKU-000007"' in page.text
    assert re.search(r"<h1>(.*?)</h1>", page.text).group(1) == product.name.replace("'", "&#39;")  # type: ignore[union-attr]
    assert f'data-stock="{catalog.stock["SKU-000007"]}"' in page.text
    assert 'action="/cart/items" method="post"' in page.text
    missing = get(gateway, "/p/NOPE-1")
    assert missing.status_code == 404 and page_kind(missing.text) == "error"


def test_search_results_filter_sort_and_link_to_products(gateway: ServiceProcess, catalog) -> None:  # type: ignore[no-untyped-def]
    term = catalog.search_terms()[0]
    results = get(gateway, "/search", params={"q": term, "sort": "price_asc", "max_price": 10**8})
    assert results.status_code == 200
    assert page_kind(results.text) == "search"
    assert re.search(r'href="/p/[A-Z0-9-]+"', results.text)
    assert '<option value="price_asc" selected>' in results.text
    api = get(gateway, "/api/search", params={"q": term, "sort": "price_asc"}).json()
    prices = [p["price_cents"] for p in api["items"]]
    assert prices == sorted(prices) and api["total"] > 0
    department = next(c.slug for c in catalog.categories if c.parent is None)
    filtered = get(gateway, "/search", params={"q": term, "category": department})
    assert filtered.status_code == 200
    assert f'<option value="{department}" selected>' in filtered.text
    assert filtered.text.count(" selected>") == 1  # only the category; no sort asked for
    bad = get(gateway, "/search", params={"q": term, "sort": "cheapest"})
    assert bad.status_code == 400 and "must be one of relevance" in bad.text


def test_the_api_round_trip_from_cart_to_confirmed_order(gateway: ServiceProcess, catalog) -> None:  # type: ignore[no-untyped-def]
    product = get(gateway, "/api/products/SKU-000011").json()
    assert product["sku"] == "SKU-000011" and product["stock"] == {"available": catalog.stock["SKU-000011"]}
    listing = get(gateway, "/api/products", params={"per_page": 5}).json()
    assert len(listing["items"]) == 5 and listing["total"] == PRODUCTS + 5
    assert {p["sku"] for p in get(gateway, "/api/doorbusters").json()} >= {"DB-0001"}

    cart = requests.post(gateway.url + "/api/carts", timeout=30)
    assert cart.status_code == 201
    cart_id = cart.json()["cart_id"]
    added = requests.post(f"{gateway.url}/api/carts/{cart_id}/items", json={"sku": "SKU-000011", "qty": 2}, timeout=30)
    assert added.status_code == 200 and added.json()["total_cents"] == 2 * product["price_cents"]
    key = uuid.uuid4().hex
    body = {"cart_id": cart_id, "payment_token": "tok_visa", "customer_id": "CUST-000001"}
    placed = requests.post(gateway.url + "/api/orders", json=body, headers={"Idempotency-Key": key}, timeout=60)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "confirmed"
    again = requests.post(gateway.url + "/api/orders", json=body, headers={"Idempotency-Key": key}, timeout=60)
    assert again.json()["order_id"] == placed.json()["order_id"]
    order_id = placed.json()["order_id"]
    assert get(gateway, f"/api/orders/{order_id}").json()["status"] == "confirmed"
    confirmation = get(gateway, f"/orders/{order_id}")
    assert page_kind(confirmation.text) == "order" and f'data-order-id="{order_id}"' in confirmation.text


def test_a_sold_out_answer_passes_through_unchanged(gateway: ServiceProcess) -> None:
    cart_id = requests.post(gateway.url + "/api/carts", timeout=30).json()["cart_id"]
    requests.post(f"{gateway.url}/api/carts/{cart_id}/items", json={"sku": "DB-0005", "qty": 21}, timeout=30)
    answer = requests.post(
        gateway.url + "/api/orders",
        json={"cart_id": cart_id, "payment_token": "tok_visa"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "sold_out" and answer.json()["sku"] == "DB-0005"


def test_an_order_without_a_payment_token_is_refused_naming_the_field(gateway: ServiceProcess) -> None:
    cart_id = requests.post(gateway.url + "/api/carts", timeout=30).json()["cart_id"]
    requests.post(f"{gateway.url}/api/carts/{cart_id}/items", json={"sku": "SKU-000021", "qty": 1}, timeout=30)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    answer = requests.post(gateway.url + "/api/orders", json={"cart_id": cart_id}, headers=key, timeout=60)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"error": "invalid", "detail": "'payment_token' is required"}
    # Nothing was charged: the same cart is still there to check out, with a token.
    paid = requests.post(
        gateway.url + "/api/orders", json={"cart_id": cart_id, "payment_token": "tok_visa"}, headers=key, timeout=60
    )
    assert paid.status_code == 201, paid.text


def test_a_browser_adds_to_cart_and_checks_out_through_forms(gateway: ServiceProcess) -> None:
    with requests.Session() as browser:
        added = browser.post(
            gateway.url + "/cart/items", data={"sku": "SKU-000021", "qty": "1"}, allow_redirects=False, timeout=30
        )
        assert added.status_code == 303 and added.headers["location"].startswith("/cart?cart_id=")
        cart_page = browser.get(gateway.url + added.headers["location"], timeout=30)
        assert page_kind(cart_page.text) == "cart" and 'data-sku="SKU-000021"' in cart_page.text
        cart_id = added.headers["location"].split("=", 1)[1]
        assert f'data-cart-id="{cart_id}"' in cart_page.text
        assert browser.cookies.get("rf_cart") == cart_id
        checkout = browser.get(gateway.url + "/checkout", timeout=30)  # the cart comes from the cookie
        assert page_kind(checkout.text) == "checkout"
        form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', checkout.text))
        assert form["idempotency_key"] and form["cart_id"]
        placed = browser.post(gateway.url + "/checkout", data=form, allow_redirects=False, timeout=60)
        assert placed.status_code == 303, placed.text
        order_page = browser.get(gateway.url + placed.headers["location"], timeout=30)
        assert page_kind(order_page.text) == "order"
        assert re.search(r'data-order-id="[^"]+" data-status="confirmed"', order_page.text)
        bad_qty = browser.post(gateway.url + "/cart/items", data={"sku": "SKU-000021", "qty": "-3"}, timeout=30)
        assert bad_qty.status_code == 422 and "quantity must be a whole number from 1 to 100" in bad_qty.text


def test_schemathesis_finds_no_server_error(gateway: ServiceProcess, tmp_path: Path) -> None:
    printed = assert_no_server_error(
        gateway.url + "/openapi.json", max_examples=25, workers=2, seed=20261125, request_timeout=60,
        suppress_health_checks=True, report_dir=tmp_path,
    )  # fmt: skip
    assert "Server error" not in printed, printed[-6000:]
    assert re.search(r"\b\d+ passed", printed), printed[-3000:]


def shown_stock(gateway: ServiceProcess, sku: str) -> int:
    answer = get(gateway, f"/api/products/{sku}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["stock"]["available"])


def buy(gateway: ServiceProcess, sku: str, qty: int) -> requests.Response:
    cart_id = requests.post(gateway.url + "/api/carts", timeout=30).json()["cart_id"]
    added = requests.post(f"{gateway.url}/api/carts/{cart_id}/items", json={"sku": sku, "qty": qty}, timeout=30)
    assert added.status_code == 200, added.text
    return requests.post(
        gateway.url + "/api/orders",
        json={"cart_id": cart_id, "payment_token": "tok_visa"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )


def test_a_sold_out_doorbuster_is_never_shown_as_available(
    gateway: ServiceProcess, slow_stock_gateway: ServiceProcess
) -> None:
    # The sales go through the other replica, so the slow replica's cache hears nothing of them.
    units = shown_stock(slow_stock_gateway, "DB-0003")
    assert units > 1
    assert buy(gateway, "DB-0003", 1).status_code == 201
    assert shown_stock(slow_stock_gateway, "DB-0003") == units - 1
    assert f'data-stock="{units - 1}"' in get(slow_stock_gateway, "/p/DB-0003").text  # the page too
    assert buy(gateway, "DB-0003", units - 1).status_code == 201
    assert shown_stock(slow_stock_gateway, "DB-0003") == 0
    assert 'data-stock="0"' in get(slow_stock_gateway, "/p/DB-0003").text


def test_an_ordinary_skus_stock_lags_by_its_ttl_unless_this_replica_saw_the_sale(
    gateway: ServiceProcess,
    slow_stock_gateway: ServiceProcess,
    catalog,  # type: ignore[no-untyped-def]
) -> None:
    sku = "SKU-000003"
    assert not catalog.by_sku[sku].doorbuster
    units = shown_stock(slow_stock_gateway, sku)
    assert units > 3
    # Sold elsewhere: this replica keeps showing its cached number (the TTL is the promise).
    assert buy(gateway, sku, 1).status_code == 201
    assert shown_stock(slow_stock_gateway, sku) == units
    # Sold here: this replica forgets its number at once.
    assert buy(slow_stock_gateway, sku, 1).status_code == 201
    assert shown_stock(slow_stock_gateway, sku) == units - 2
    # Sold out elsewhere, then "sold out" seen here: forgotten too.
    assert buy(gateway, sku, units - 2).status_code == 201
    assert shown_stock(slow_stock_gateway, sku) == units - 2
    sold_out = buy(slow_stock_gateway, sku, 1)
    assert sold_out.status_code == 409, sold_out.text
    assert (sold_out.json()["error"], sold_out.json()["sku"]) == ("sold_out", sku)
    assert shown_stock(slow_stock_gateway, sku) == 0
