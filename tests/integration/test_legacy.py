"""The legacy store as a real process: seeded like the monolith, newest version wins, bad input is a 4xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.processes import ServiceProcess, run_service
from tests.support.servers import fresh_mariadb


@pytest.fixture(scope="module", params=["embedded", pytest.param("mariadb", marks=pytest.mark.services)])
def legacy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp_path = tmp_path_factory.mktemp("legacy")
    if request.param == "embedded":
        with run_service("legacy", tmp_path) as pods:
            yield pods[0]
        return
    with fresh_mariadb() as url, run_service("legacy", tmp_path, {"RF_LEGACY_DB_URL": url}) as pods:
        yield pods[0]


def test_legacy_is_seeded_with_the_catalogs_initial_stock(legacy: ServiceProcess) -> None:
    row = requests.get(f"{legacy.url}/stock/DB-0001", timeout=5).json()
    assert row == {"sku": "DB-0001", "available": 20, "reserved": 0, "sold": 0, "version": 0}
    page = requests.get(f"{legacy.url}/stock", params={"limit": 50}, timeout=5).json()
    assert len(page["items"]) == 50 and page["next"] == page["items"][-1]["sku"]


def test_a_stale_version_never_moves_a_legacy_row_backwards(legacy: ServiceProcess) -> None:
    url = f"{legacy.url}/stock/DB-0002"
    newer = requests.put(url, json={"available": 17, "reserved": 1, "sold": 2, "version": 5}, timeout=5)
    assert newer.status_code == 200 and newer.json()["applied"] is True
    stale = requests.put(url, json={"available": 20, "reserved": 0, "sold": 0, "version": 3}, timeout=5)
    assert stale.json()["applied"] is False
    assert requests.get(url, timeout=5).json()["available"] == 17


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"available": -1, "reserved": 0, "sold": 0, "version": 1}', 422, "'available' must be at least 0"),
        (b'{"available": 1, "reserved": 0, "sold": 0}', 422, "'version' is required"),
        (b'{"available": "1", "reserved": 0, "sold": 0, "version": 1}', 422, "'available' must be a whole number"),
        (b"x" * 70_000, 413, "bodies are limited"),
    ],
)
def test_bad_writes_get_a_clear_4xx(legacy: ServiceProcess, body: bytes, status: int, message: str) -> None:
    resp = requests.put(
        f"{legacy.url}/stock/DB-0001", data=body, timeout=5, headers={"content-type": "application/json"}
    )
    assert resp.status_code == status
    assert message in resp.json()["detail"]


def test_every_answer_carries_the_callers_correlation_id(legacy: ServiceProcess) -> None:
    resp = requests.get(f"{legacy.url}/stock/nope", headers={"x-request-id": "trace-123"}, timeout=5)
    assert resp.status_code == 404 and resp.headers["x-request-id"] == "trace-123"
    assert resp.json()["error"] == "not_found"


def test_health_readiness_metrics_and_openapi_are_served(legacy: ServiceProcess) -> None:
    assert requests.get(f"{legacy.pod_url}/healthz", timeout=5).json()["status"] == "ok"
    assert requests.get(f"{legacy.pod_url}/readyz", timeout=5).json() == {"ready": True, "checks": {"store": True}}
    requests.get(f"{legacy.url}/stock/DB-0001", timeout=5)
    metrics = requests.get(f"{legacy.url}/metrics", timeout=5).text
    assert 'http_requests_total{method="GET",route="/stock/{sku}",status="200"}' in metrics
    paths = requests.get(f"{legacy.url}/openapi.json", timeout=5).json()["paths"]
    assert {"/stock", "/stock/{sku}"} <= set(paths)
