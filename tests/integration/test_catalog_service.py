"""The catalog as a real process (`python -m retailflow.serve catalog` after `--seed-only`).

The embedded profile runs everywhere; the services profile runs against the local PostgreSQL
(a fresh database, dropped afterwards) and Redis, and is marked `services`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from retailflow.seed.catalog import generate
from tests.support.fuzz import assert_no_server_error
from tests.support.processes import ServiceProcess, run_service, seed_service
from tests.support.servers import fresh_postgres, require_server

SIZE = 2000  # tests.support.processes seeds RF_PRODUCTS=2000


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("catalog-embedded")
    with run_service("catalog", data_dir) as [catalog]:
        yield catalog


def get(service: ServiceProcess, path: str, **params: object) -> requests.Response:
    return requests.get(service.url + path, params=params, timeout=10)


def test_a_product_is_served_as_the_fixtures_generated_it(embedded: ServiceProcess) -> None:
    expected = generate(seed=42, products=SIZE).by_sku["SKU-000042"].to_json()
    response = get(embedded, "/products/SKU-000042")
    assert response.status_code == 200
    assert response.json() == expected
    assert response.headers["content-type"] == "application/json"


def test_an_unknown_sku_is_a_404_naming_it(embedded: ServiceProcess) -> None:
    response = get(embedded, "/products/SKU-999999")
    assert response.status_code == 404
    assert response.json() == {
        "error": "unknown_sku",
        "detail": "no product with sku 'SKU-999999'",
        "sku": "SKU-999999",
    }
    assert get(embedded, "/products/" + "x" * 300).status_code == 404


def test_categories_list_the_tree_with_counts(embedded: ServiceProcess) -> None:
    tree = get(embedded, "/categories").json()
    assert {"slug", "name", "parent", "product_count"} == set(tree[0])
    assert sum(c["product_count"] for c in tree if c["parent"] is None) == SIZE + 5


def test_a_category_page_answers_items_page_per_page_and_total(embedded: ServiceProcess) -> None:
    body = get(embedded, "/products", category="electronics", sort="price_asc", page=2, per_page=5).json()
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], len(body["items"])) == (2, 5, 5)
    prices = [p["price_cents"] for p in body["items"]]
    assert prices == sorted(prices)
    unknown = get(embedded, "/products", category="garden")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no category 'garden'"


def test_search_over_http_finds_by_name_and_echoes_the_query(embedded: ServiceProcess) -> None:
    product = generate(seed=42, products=SIZE).by_sku["SKU-000777"]
    body = get(embedded, "/search", q=product.name, per_page=3).json()
    assert body["items"][0]["sku"] == "SKU-000777"
    assert body["query"] == product.name
    assert set(body) == {"items", "total", "page", "per_page", "query"}


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"q": "tent", "per_page": 101}, "'per_page' must be between 1 and 100, got 101"),
        ({"q": "tent", "page": 0}, "'page' must be between 1 and 10000, got 0"),
        ({"q": "tent", "min_price": -5}, "'min_price' must be between 0 and 1000000000, got -5"),
        ({"q": "tent", "max_price": "cheap"}, "'max_price' must be a whole number, got 'cheap'"),
        ({"q": "tent", "sort": "popular"}, "'sort' must be one of relevance, price_asc, price_desc, name"),
        ({}, "'q' is required: the words to search for"),
    ],
)
def test_bad_search_input_is_a_400_saying_what_is_wrong(embedded: ServiceProcess, params: dict, detail: str) -> None:
    response = get(embedded, "/search", **params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"
    assert response.json()["detail"].startswith(detail)


def test_batch_lookup_validates_its_body(embedded: ServiceProcess) -> None:
    url = embedded.url + "/products/batch"
    ok = requests.post(url, json={"skus": ["DB-0001", "nope", "SKU-000002"]}, timeout=10)
    assert ok.status_code == 200
    assert [p["sku"] for p in ok.json()["items"]] == ["DB-0001", "SKU-000002"]
    assert ok.json()["missing"] == ["nope"]
    cases = [
        (b"{not json", 400, "the body is not valid JSON"),
        (b'{"skus": "DB-0001"}', 422, "'skus' must be a list"),
        (b'{"skus": [1, 2]}', 422, "'skus' must hold strings of 1 to 64 characters"),
        (b'{"skus": [' + b",".join([b'"a"'] * 101) + b"]}", 422, "'skus' is longer than 100"),
        (b"{}", 422, "'skus' is required"),
    ]
    for body, status, detail in cases:
        response = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
        assert response.status_code == status, body
        assert response.json()["detail"].startswith(detail)
    huge = requests.post(url, data=b"x" * 200_000, timeout=10)
    assert huge.status_code == 413


def test_doorbusters_are_the_five_limited_skus(embedded: ServiceProcess) -> None:
    assert [p["sku"] for p in get(embedded, "/doorbusters").json()] == [f"DB-000{i}" for i in range(1, 6)]


def test_health_metrics_openapi_and_correlation_id(embedded: ServiceProcess) -> None:
    assert get(embedded, "/healthz").status_code == 200
    assert get(embedded, "/readyz").json()["ready"] is True
    echoed = requests.get(embedded.url + "/categories", headers={"X-Request-ID": "trace-me-42"}, timeout=10)
    assert echoed.headers["x-request-id"] == "trace-me-42"
    paths = get(embedded, "/openapi.json").json()["paths"]
    assert {"/categories", "/products", "/products/{sku}", "/products/batch", "/search", "/doorbusters"} <= set(paths)
    assert 'route="/search"' in get(embedded, "/metrics").text


def test_seeding_an_already_seeded_store_changes_nothing(embedded: ServiceProcess, tmp_path: Path) -> None:
    data_dir = Path(embedded.log).parent.parent
    seed_service("catalog", data_dir)
    assert get(embedded, "/products", per_page=1).json()["total"] == SIZE + 5


def test_seed_only_on_a_store_of_another_seed_exits_2_naming_both(embedded: ServiceProcess) -> None:
    data_dir = Path(embedded.log).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
    env.update({"RF_DATA_DIR": str(data_dir), "RF_PRODUCTS": str(SIZE), "RF_SEED": "43"})
    result = subprocess.run(
        [sys.executable, "-m", "retailflow.serve", "catalog", "--seed-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"holds a catalog of seed=42 products={SIZE}, but RF_SEED/RF_PRODUCTS ask for seed=43" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The services profile: a fresh PostgreSQL database (dropped afterwards) and Redis as the cache."""
    require_server("redis")
    with fresh_postgres() as db_url:
        env = {"RF_DB_URL": db_url, "RF_CACHE_URL": "redis://127.0.0.1:6379/0", "RF_SEED": "7"}
        with run_service("catalog", tmp_path_factory.mktemp("catalog-pg"), env) as [catalog]:
            yield catalog


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["embedded", pytest.param("on_postgres", marks=pytest.mark.services)])
def test_schemathesis_finds_no_server_error_in_the_openapi_document(
    profile: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    service: ServiceProcess = request.getfixturevalue(profile)
    # Not negative_data_rejection: empty form fields (`sort=&page=`, as a storefront form sends them)
    # mean "the default" on purpose, where the schema would call them invalid.
    printed = assert_no_server_error(
        service.url + "/openapi.json", checks="not_a_server_error,positive_data_acceptance", max_examples=25,
        seed=20261125, suppress_health_checks=True, report_dir=tmp_path,
    )  # fmt: skip
    assert "No issues found" in printed


def test_a_sku_no_store_could_hold_is_unknown_not_an_error(embedded: ServiceProcess) -> None:
    for sku in ("a%00b", "%0A", "x" * 65):
        response = requests.get(f"{embedded.url}/products/{sku}", timeout=10)
        assert response.status_code == 404, sku
        assert response.json()["error"] == "unknown_sku"
    batch = requests.post(embedded.url + "/products/batch", json={"skus": ["a\x00b", "DB-0001"]}, timeout=10)
    assert batch.json()["missing"] == ["a\x00b"]


@pytest.mark.services
def test_on_postgresql_and_redis_the_catalog_searches_and_caches_in_redis(on_postgres: ServiceProcess) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        prefix = f"catalog:7:{SIZE}:"
        catalog = generate(seed=7, products=SIZE)
        product = catalog.by_sku["SKU-001234"]
        first = get(on_postgres, "/search", q=product.name, category=product.category).json()
        assert first["items"][0] == product.to_json()
        client.delete(prefix + "product:SKU-001234")  # another session may have cached it already
        assert get(on_postgres, "/products/SKU-001234").json() == product.to_json()
        assert client.exists(prefix + "product:SKU-001234") == 1
        apparel = {"jackets", "sweaters", "shirts", "jeans", "shoes", "accessories"}
        expected = sum(1 for p in catalog.products if p.category in apparel)
        assert get(on_postgres, "/products", category="apparel").json()["total"] == expected
        assert get(on_postgres, "/products/a%00b").status_code == 404  # PostgreSQL would refuse a NUL
        assert get(on_postgres, "/readyz").json() == {"ready": True, "checks": {"store": True}}
    finally:
        client.close()
