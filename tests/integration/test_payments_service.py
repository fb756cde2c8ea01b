"""The payments service as real processes: idempotent authorize and capture over HTTP, the
provider's settings shared by every replica, bad input answered with 4xx, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import requests

from retailflow.common.config import ServiceConfig
from retailflow.payments import audit_view
from tests.support.fuzz import assert_no_server_error
from tests.support.processes import ServiceProcess, run_service
from tests.support.servers import fresh_postgres

Payments = tuple[list[ServiceProcess], dict[str, str]]  # the replicas and their environment


@pytest.fixture(scope="module", params=["embedded", pytest.param("services", marks=pytest.mark.services)])
def payments(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Payments]:
    data_dir = tmp_path_factory.mktemp(f"payments-{request.param}")
    with ExitStack() as stack:
        env = {} if request.param == "embedded" else {"RF_DB_URL": stack.enter_context(fresh_postgres())}
        env["RF_DATA_DIR"] = str(data_dir)
        replicas = stack.enter_context(run_service("payments", data_dir, env, replicas=2))
        requests.put(replicas[0].url + "/admin/provider", json={"latency_ms": 20, "failure_rate": 0}, timeout=10)
        yield replicas, env


def authorize(url: str, pid: str, amount: int = 1299, token: str = "tok_visa") -> requests.Response:
    body = {"payment_id": pid, "order_id": f"order-{pid}", "amount_cents": amount, "token": token}
    return requests.post(url + "/payments/authorize", json=body, timeout=10)


def test_authorize_is_idempotent_across_replicas_and_a_reused_id_conflicts(payments: Payments) -> None:
    (a, b), _ = payments
    first = authorize(a.pod_url, "p-idem")
    assert first.status_code == 201 and first.json()["status"] == "authorized"
    again = authorize(b.pod_url, "p-idem")
    assert again.status_code == 201 and again.json()["payment_id"] == "p-idem"
    reused = authorize(a.url, "p-idem", amount=1)
    assert reused.status_code == 409
    assert reused.json()["error"] == "payment_id_reused"
    assert "was authorized for order order-p-idem and 1299 cents" in reused.json()["detail"]


def test_concurrent_captures_on_two_replicas_charge_once(payments: Payments) -> None:
    (a, b), env = payments
    assert authorize(a.url, "p-cap").status_code == 201
    urls = [a.pod_url, b.pod_url] * 5
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda u: requests.post(f"{u}/payments/p-cap/capture", timeout=10), urls))
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["status"] for r in answers} == {"captured"}
    db = audit_view.connect(ServiceConfig.from_env("payments", env))
    try:
        rows = [c for c in audit_view.captures(db) if c["payment_id"] == "p-cap"]
    finally:
        db.close()
    assert rows == [{"payment_id": "p-cap", "order_id": "order-p-cap", "captures": 1, "amount": 1299}]


def test_a_voided_payment_cannot_be_captured(payments: Payments) -> None:
    (a, _), _ = payments
    authorize(a.url, "p-void")
    assert requests.post(a.url + "/payments/p-void/void", timeout=10).json()["status"] == "voided"
    refused = requests.post(a.url + "/payments/p-void/capture", timeout=10)
    assert refused.status_code == 409 and refused.json()["error"] == "not_capturable"
    assert requests.get(a.url + "/payments/p-void", timeout=10).json()["captured_at"] is None


def test_provider_settings_set_on_one_replica_rule_every_replica(payments: Payments) -> None:
    (a, b), _ = payments
    try:
        put = requests.put(a.pod_url + "/admin/provider", json={"failure_rate": 1.0}, timeout=10)
        assert put.json() == {"latency_ms": 20, "failure_rate": 1.0}
        assert requests.get(b.pod_url + "/admin/provider", timeout=10).json()["failure_rate"] == 1.0
        declined = authorize(b.pod_url, "p-fail")
        assert declined.status_code == 402
        assert declined.json() == {
            "error": "payment_declined",
            "payment_id": "p-fail",
            "detail": "the provider declined: provider_declined",
        }
    finally:
        requests.put(a.url + "/admin/provider", json={"failure_rate": 0}, timeout=10)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "detail"),
    [
        ("POST", "/payments/authorize", b"{not json", 400, "malformed_json", "not valid JSON"),
        ("POST", "/payments/authorize", b"[1]", 400, "malformed_json", "must be a JSON object"),
        (
            "POST",
            "/payments/authorize",
            {"payment_id": "x", "order_id": "o", "amount_cents": -5, "token": "t"},
            422,
            "invalid",
            "'amount_cents' must be at least 1",
        ),
        (
            "POST",
            "/payments/authorize",
            {"payment_id": "x", "order_id": "o", "amount_cents": 10**11, "token": "t"},
            422,
            "invalid",
            "'amount_cents' must be at most",
        ),
        (
            "POST",
            "/payments/authorize",
            {"payment_id": "x" * 65, "order_id": "o", "amount_cents": 1, "token": "t"},
            422,
            "invalid",
            "'payment_id' is longer than 64",
        ),
        ("POST", "/payments/nope/capture", None, 404, "payment_not_found", "no payment 'nope'"),
        ("PUT", "/admin/provider", {"failure_rate": 1.5}, 422, "invalid", "'failure_rate' must be at most 1"),
        ("PUT", "/admin/provider", {"latency_ms": "slow"}, 422, "invalid", "'latency_ms' must be a whole number"),
        ("POST", "/payments/authorize", b"x" * 70_000, 413, "payload_too_large", "bodies are limited"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_problem(
    payments: Payments, method: str, path: str, body: object, status: int, code: str, detail: str
) -> None:
    (a, _), _ = payments
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    resp = requests.request(method, a.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == code and detail in resp.json()["detail"]


def test_schemathesis_finds_no_server_error(payments: Payments, request: pytest.FixtureRequest) -> None:
    if "services" in request.node.callspec.id:
        pytest.skip("the API is the same on both profiles; fuzzed once, on the embedded one")
    (a, _), _ = payments
    assert_no_server_error(f"{a.url}/openapi.json")
