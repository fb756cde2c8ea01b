"""Inventory as real processes: concurrency across replicas, idempotency, expiry, bad input, dual-write."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.inventory import audit_view
from retailflow.runtime.linkproxy import LinkProxy
from tests.support.fuzz import assert_no_server_error
from tests.support.processes import ServiceProcess, free_port, run_service, seed_service, wait_until
from tests.support.servers import fresh_postgres

DOORBUSTER = "DB-0001"  # 20 units in the fixtures
T = TypeVar("T")


def read_inventory_store(env: dict[str, str], data_dir: Path, read: Callable[[Database], T]) -> T:
    """`read` (an audit_view query) over the inventory store the service with `env` writes."""
    db = audit_view.connect(ServiceConfig.from_env("inventory", {**env, "RF_DATA_DIR": str(data_dir)}))
    try:
        return read(db)
    finally:
        db.close()


def stock_of(env: dict[str, str], data_dir: Path) -> list[dict[str, int]]:
    return read_inventory_store(env, data_dir, audit_view.stock_rows)


def open_holds(env: dict[str, str], data_dir: Path) -> list[dict[str, object]]:
    return read_inventory_store(env, data_dir, audit_view.open_reservations)


PROFILES = ["embedded", pytest.param("postgresql", marks=pytest.mark.services)]


def profile_env(profile: str, stack: ExitStack) -> dict[str, str]:
    return {} if profile == "embedded" else {"RF_DB_URL": stack.enter_context(fresh_postgres())}


@pytest.fixture(scope="module", params=PROFILES)
def inventory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One replica with a quick reaper, shared by the tests that need no store of their own."""
    data_dir = tmp_path_factory.mktemp("inventory")
    with ExitStack() as stack:
        env = {**profile_env(request.param, stack), "RF_INVENTORY_EXPIRY_INTERVAL_S": "0.2"}
        yield stack.enter_context(run_service("inventory", data_dir, env))[0]


@pytest.mark.parametrize("profile", PROFILES)
def test_concurrent_reservations_never_oversell_a_doorbuster_sku(profile: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        env = profile_env(profile, stack)
        replicas = stack.enter_context(run_service("inventory", tmp_path, env, replicas=2))

        def reserve(n: int) -> int:
            body = {"reservation_id": f"order-{n}", "items": [{"sku": DOORBUSTER, "qty": 1}], "ttl_s": 600}
            # Half the requests go to each replica's own port, so both processes surely compete.
            url = replicas[n % 2].pod_url
            return requests.post(f"{url}/reservations", json=body, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = Counter(pool.map(reserve, range(100)))
        assert statuses == Counter({201: 20, 409: 80})
        row = next(r for r in stock_of(env, tmp_path) if r["sku"] == DOORBUSTER)
        assert (row["available"], row["reserved"], row["sold"]) == (0, 20, 0)
        holds = open_holds(env, tmp_path)
        assert sum(item["qty"] for hold in holds for item in hold["items"]) == 20
        assert all(r["initial"] == r["available"] + r["reserved"] + r["sold"] for r in stock_of(env, tmp_path))


def test_a_repeated_reservation_answers_the_same_and_holds_stock_once(inventory: ServiceProcess) -> None:
    body = {"reservation_id": "idem-1", "items": [{"sku": "DB-0002", "qty": 2}], "ttl_s": 600}
    first = requests.post(f"{inventory.url}/reservations", json=body, timeout=10)
    second = requests.post(f"{inventory.url}/reservations", json=body, timeout=10)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert requests.get(f"{inventory.url}/stock/DB-0002", timeout=10).json()["reserved"] == 2
    commit = requests.post(f"{inventory.url}/reservations/idem-1/commit", timeout=10)
    assert commit.status_code == 200 and commit.json()["status"] == "committed"
    release = requests.post(f"{inventory.url}/reservations/idem-1/release", timeout=10)
    assert release.status_code == 409 and release.json()["error"] == "reservation_committed"
    stock = requests.get(f"{inventory.url}/stock/DB-0002", timeout=10).json()
    assert (stock["available"], stock["reserved"], stock["sold"], stock["initial"]) == (18, 0, 2, 20)


def test_a_stale_reservation_is_expired_by_the_background_task(inventory: ServiceProcess) -> None:
    body = {"reservation_id": "short-1", "items": [{"sku": "DB-0003", "qty": 5}], "ttl_s": 1}
    held = requests.post(f"{inventory.url}/reservations", json=body, timeout=10)
    # The hold's own answer, not a stock read after it: on a busy machine the reaper may run first.
    assert held.status_code == 201 and held.json()["status"] == "held", held.text
    assert held.json()["items"] == [{"sku": "DB-0003", "qty": 5}]

    def expired() -> bool:
        return requests.get(f"{inventory.url}/reservations/short-1", timeout=10).json()["status"] == "expired"

    wait_until(expired, timeout=30, what="the reservation to expire")
    stock = requests.get(f"{inventory.url}/stock/DB-0003", timeout=10).json()
    assert (stock["available"], stock["reserved"]) == (20, 0)
    late = requests.post(f"{inventory.url}/reservations/short-1/commit", timeout=10)
    assert late.status_code == 409 and late.json()["error"] == "reservation_expired"


def test_a_stock_batch_answers_in_the_order_asked_and_names_the_missing(inventory: ServiceProcess) -> None:
    body = {"skus": ["SKU-000002", "NOPE", "SKU-000001", "SKU-000002"]}
    answer = requests.post(f"{inventory.url}/stock/batch", json=body, timeout=10).json()
    assert [item["sku"] for item in answer["items"]] == ["SKU-000002", "SKU-000001"]
    assert answer["missing"] == ["NOPE"]
    assert (
        answer["items"][0]["initial"]
        == answer["items"][0]["available"] + answer["items"][0]["reserved"] + (answer["items"][0]["sold"])
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "detail"),
    [
        ("POST", "/reservations", b"{not json", 400, "malformed_json", "not valid JSON"),
        ("POST", "/reservations", b"[1]", 400, "malformed_json", "must be a JSON object"),
        ("POST", "/reservations", {"items": [{"sku": "DB-0004", "qty": 1}]}, 422, "invalid", "'reservation_id'"),
        ("POST", "/reservations", {"reservation_id": "a", "items": []}, 422, "invalid", "'items' must be a list"),
        (
            "POST",
            "/reservations",
            {"reservation_id": "a", "items": [{"sku": "DB-0004", "qty": -1}]},
            422,
            "invalid",
            "items[0].qty must be a whole number from 1 to 100",
        ),
        (
            "POST",
            "/reservations",
            {"reservation_id": "a", "items": [{"sku": "DB-0004", "qty": 10**12}]},
            422,
            "invalid",
            "items[0].qty",
        ),
        (
            "POST",
            "/reservations",
            {"reservation_id": "a", "items": [{"sku": "DB-0004", "qty": 1}], "ttl_s": 0},
            422,
            "invalid",
            "'ttl_s'",
        ),
        (
            "POST",
            "/reservations",
            {"reservation_id": "u", "items": [{"sku": "NOPE", "qty": 1}]},
            404,
            "unknown_sku",
            "no stock for sku 'NOPE'",
        ),
        ("POST", "/reservations", b"x" * 70_000, 413, "payload_too_large", "bodies are limited"),
        ("GET", "/stock/NOPE", None, 404, "unknown_sku", "no stock for sku 'NOPE'"),
        ("GET", "/reservations/missing", None, 404, "not_found", "no reservation 'missing'"),
        ("POST", "/reservations/missing/commit", None, 404, "not_found", "no reservation 'missing'"),
        ("POST", "/stock/batch", {"skus": "DB-0001"}, 422, "invalid", "'skus' must be a list"),
        ("POST", "/stock/batch", {"skus": [1]}, 422, "invalid", "'skus' must be strings"),
        ("POST", "/admin/reconcile", None, 409, "dual_write_disabled", "RF_LEGACY_URL is not set"),
    ],
)
def test_bad_requests_get_a_4xx_with_an_error_body_naming_the_problem(
    inventory: ServiceProcess, method: str, path: str, body: object, status: int, error: str, detail: str
) -> None:
    kwargs: dict[str, object] = {"data": body} if isinstance(body, bytes) else {"json": body}
    response = requests.request(method, inventory.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert detail in response.json()["detail"]


def test_schemathesis_finds_no_server_error(inventory: ServiceProcess) -> None:
    # The stateful phase needs links the document does not declare, and it doubled the time.
    assert_no_server_error(f"{inventory.url}/openapi.json", phases="examples,coverage,fuzzing")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_dual_write_waits_out_a_legacy_outage_and_legacy_converges(profile: str, tmp_path: Path) -> None:
    legacy_port = free_port()  # nothing listens here until legacy starts: the partition
    stack = ExitStack()
    env = {
        **profile_env(profile, stack),
        "RF_LEGACY_URL": f"http://127.0.0.1:{legacy_port}",
        "RF_INVENTORY_RECONCILE_INTERVAL_S": "0",
    }
    seed_service("legacy", tmp_path)
    with stack, run_service("inventory", tmp_path, env) as [inventory]:
        api = inventory.url
        for n in range(6):
            body = {
                "reservation_id": f"dw-{n}",
                "items": [{"sku": "DB-0005", "qty": 1}, {"sku": "SKU-000010", "qty": 1}],
            }
            assert requests.post(f"{api}/reservations", json=body, timeout=10).status_code == 201
        for n in range(3):
            assert requests.post(f"{api}/reservations/dw-{n}/commit", timeout=10).status_code == 200
        assert requests.post(f"{api}/reservations/dw-3/release", timeout=10).status_code == 200
        assert requests.get(f"{inventory.pod_url}/readyz", timeout=10).status_code == 200  # legacy is not its store
        sync = wait_until(
            lambda: (s := requests.get(f"{api}/admin/sync", timeout=10).json())["last_error"] and s,
            timeout=30,
            what="the relay to notice legacy is down",
        )
        assert sync["pending"] == 20 and sync["enabled"]
        metrics = requests.get(f"{api}/metrics", timeout=10).text
        assert "inventory_legacy_sync_pending 20.0" in metrics
        reconcile = requests.post(f"{api}/admin/reconcile", timeout=30)
        assert reconcile.status_code == 503 and reconcile.json()["error"] == "legacy_unavailable"

        with run_service("legacy", tmp_path, seed=False, service_port=legacy_port) as [legacy]:
            wait_until(
                lambda: requests.get(f"{api}/admin/sync", timeout=10).json()["pending"] == 0,
                timeout=60,
                what="the legacy_sync backlog to drain",
            )
            for sku in ("DB-0005", "SKU-000010"):
                ours = requests.get(f"{api}/stock/{sku}", timeout=10).json()
                theirs = requests.get(f"{legacy.url}/stock/{sku}", timeout=10).json()
                assert {k: theirs[k] for k in ("available", "reserved", "sold", "version")} == {
                    k: ours[k] for k in ("available", "reserved", "sold", "version")
                }
            assert requests.get(f"{legacy.url}/stock/DB-0005", timeout=10).json()["sold"] == 3
            assert requests.post(f"{api}/admin/reconcile", timeout=60).json()["divergent"] == 0

            # Someone writes the monolith directly: the reconciler finds the row and puts it right.
            tamper = {"available": 0, "reserved": 0, "sold": 99, "version": 10_000}
            assert requests.put(f"{legacy.url}/stock/DB-0004", json=tamper, timeout=10).json()["applied"]
            result = requests.post(f"{api}/admin/reconcile", timeout=60).json()
            assert (result["divergent"], result["repaired"]) == (1, 1)

            def repaired() -> bool:
                row = requests.get(f"{legacy.url}/stock/DB-0004", timeout=10).json()
                return (row["available"], row["sold"], row["version"]) == (20, 0, 10_001)

            wait_until(repaired, timeout=30, what="legacy's DB-0004 to be repaired")
            assert requests.post(f"{api}/admin/reconcile", timeout=60).json()["divergent"] == 0
            sync = requests.get(f"{api}/admin/sync", timeout=10).json()
            assert (sync["divergence_found_total"], sync["divergence_repaired_total"]) == (1, 1)
            assert sync["last_success_at"] > time.time() - 60


class ThreadedLink:
    """The runtime's fault-injecting link proxy, on an event loop of its own, for a test to cut and heal."""

    def __init__(self, target_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = LinkProxy("inventory->legacy", "127.0.0.1", target_port)
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.proxy.listen_port}"

    def call(self, fn: Callable[[], None]) -> None:
        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


LEGACY_TIMEOUT_S = 8.0  # a reservation that waited on the cut legacy link would take this long


def test_a_blackholed_legacy_link_delays_only_the_second_write(tmp_path: Path) -> None:
    legacy_port = free_port()
    link = ThreadedLink(legacy_port)
    try:
        env = {
            "RF_LEGACY_URL": link.url,
            "RF_INVENTORY_RECONCILE_INTERVAL_S": "0",
            "RF_INVENTORY_LEGACY_TIMEOUT_S": str(LEGACY_TIMEOUT_S),
        }
        with (
            run_service("legacy", tmp_path, service_port=legacy_port) as [legacy],
            run_service("inventory", tmp_path, env) as [inventory],
        ):
            api = inventory.url

            def reserve(rid: str) -> float:
                body = {"reservation_id": rid, "items": [{"sku": "SKU-000003", "qty": 1}]}
                started = time.monotonic()
                assert requests.post(f"{api}/reservations", json=body, timeout=10).status_code == 201
                return time.monotonic() - started

            reserve("before-cut")
            wait_until(
                lambda: requests.get(f"{api}/admin/sync", timeout=10).json()["pending"] == 0,
                timeout=30,
                what="the first write to reach legacy",
            )
            link.call(lambda: link.proxy.cut("blackhole"))
            slowest = max(reserve(f"during-cut-{n}") for n in range(5))
            # The outbox decouples the two writes: waiting on legacy would take its whole timeout.
            assert slowest < LEGACY_TIMEOUT_S / 2, f"a reservation took {slowest:.1f}s: it waited on legacy"
            wait_until(
                lambda: requests.get(f"{api}/admin/sync", timeout=10).json()["last_error"],
                timeout=30,
                what="the relay to fail against the blackhole",
            )
            assert requests.get(f"{api}/admin/sync", timeout=10).json()["pending"] == 5
            assert requests.get(f"{inventory.pod_url}/readyz", timeout=10).status_code == 200
            assert requests.get(f"{legacy.url}/stock/SKU-000003", timeout=10).json()["reserved"] == 1

            link.call(link.proxy.heal)
            healed = time.monotonic()
            wait_until(
                lambda: requests.get(f"{api}/admin/sync", timeout=10).json()["pending"] == 0,
                timeout=60,
                what="the backlog to drain after the heal",
            )
            converge_s = time.monotonic() - healed
            assert requests.get(f"{legacy.url}/stock/SKU-000003", timeout=10).json()["reserved"] == 6
            assert requests.post(f"{api}/admin/reconcile", timeout=60).json()["divergent"] == 0
            assert converge_s < 30, f"legacy took {converge_s:.1f}s to converge after the heal"
    finally:
        link.close()
