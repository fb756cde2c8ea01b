"""The gateway between real processes: a killed replica, a dead or frozen upstream, a greedy client.

The upstreams here are minimal Starlette processes that speak the contract (this module run as
`python -m tests.integration.test_gateway_resilience --port P --pod-port Q`), so the gateway's
own behaviour is tested without depending on every service being healthy. Everything started
is reaped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.processes import ServiceProcess, free_port, run_service, stop, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = {
    "SKU-1": {
        "sku": "SKU-1",
        "name": "Aurora 55in OLED TV",
        "description": "A television.",
        "category": "tv",
        "price_cents": 49999,
        "brand": "Aurora",
        "doorbuster": False,
    },
    "SKU-2": {
        "sku": "SKU-2",
        "name": "Nimbus Laptop 14",
        "description": "A laptop.",
        "category": "tv",
        "price_cents": 89900,
        "brand": "Nimbus",
        "doorbuster": True,
    },
}


# -- the fake upstream (runs in its own process) ------------------------------------------------


def fake_upstream_app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from retailflow.common.web import JSON

    carts: dict[str, list[dict[str, object]]] = {}
    delay = float(os.environ.get("FAKE_DELAY_S", "0"))

    async def categories(request: Request) -> JSON:
        return JSON([{"slug": "tv", "name": "Televisions", "parent": None, "product_count": 2}])

    async def products(request: Request) -> JSON:
        return JSON({"items": list(PRODUCTS.values()), "page": 1, "per_page": 24, "total": 2})

    async def product(request: Request) -> JSON:
        sku = request.path_params["sku"]
        await asyncio.sleep(delay)  # keeps requests in flight when a replica dies
        if sku not in PRODUCTS:
            return JSON({"error": "unknown_sku", "detail": f"no product {sku}", "sku": sku}, status_code=404)
        return JSON({**PRODUCTS[sku], "served_by": os.getpid()})

    async def search(request: Request) -> JSON:
        return JSON(
            {
                "items": list(PRODUCTS.values()),
                "total": 2,
                "page": 1,
                "per_page": 24,
                "query": request.query_params.get("q", ""),
            }
        )

    async def doorbusters(request: Request) -> JSON:
        return JSON([PRODUCTS["SKU-2"]])

    async def stock(request: Request) -> JSON:
        return JSON({"sku": request.path_params["sku"], "available": 7, "reserved": 0, "sold": 0, "initial": 7})

    async def new_cart(request: Request) -> JSON:
        cart_id = f"cart-{len(carts) + 1}"
        carts[cart_id] = []
        return JSON({"cart_id": cart_id, "items": [], "total_cents": 0}, status_code=201)

    async def cart(request: Request) -> JSON:
        return JSON({"cart_id": request.path_params["cart_id"], "items": [], "total_cents": 0})

    async def place_order(request: Request) -> JSON:
        key = request.headers.get("idempotency-key", "")
        if key == "sold-out":
            return JSON({"error": "sold_out", "detail": "SKU-2 sold out", "sku": "SKU-2"}, status_code=409)
        if key == "declined":
            return JSON({"error": "payment_declined", "detail": "the provider declined"}, status_code=402)
        return JSON(
            {
                "order_id": f"order-{key}",
                "status": "confirmed",
                "items": [],
                "total_cents": 0,
                "request_id_seen": request.headers.get("x-request-id", ""),
            },
            status_code=201,
        )

    async def healthz(request: Request) -> JSON:
        return JSON({"status": "ok", "pid": os.getpid()})

    return Starlette(
        routes=[
            Route("/categories", categories),
            Route("/products", products),
            Route("/products/{sku}", product),
            Route("/search", search),
            Route("/doorbusters", doorbusters),
            Route("/stock/{sku}", stock),
            Route("/carts", new_cart, methods=["POST"]),
            Route("/carts/{cart_id}", cart),
            Route("/orders", place_order, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def serve_fake(argv: list[str]) -> None:
    import uvicorn

    from retailflow.serve import bind

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pod-port", type=int, required=True)
    args = parser.parse_args(argv)
    sockets = [bind(args.port, reuse_port=True), bind(args.pod_port, reuse_port=False)]
    server = uvicorn.Server(
        uvicorn.Config(fake_upstream_app(), loop="uvloop", http="httptools", access_log=False, log_level="warning")
    )
    asyncio.run(server.serve(sockets=sockets))


# -- fixtures ---------------------------------------------------------------------------------------


@contextmanager
def fake_upstream(
    tmp: Path, replicas: int = 1, port: int | None = None, delay_s: float = 0.0
) -> Iterator[list[ServiceProcess]]:
    port = port or free_port()
    started: list[ServiceProcess] = []
    try:
        for replica in range(replicas):
            pod_port = free_port()
            log = tmp / f"fake-{port}-{replica}.log"
            with open(log, "ab") as out:
                argv = [sys.executable, "-m", "tests.integration.test_gateway_resilience", "--port", str(port),
                        "--pod-port", str(pod_port)]  # fmt: skip
                proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            started.append(
                ServiceProcess("fake", proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pod_port}", log)
            )
        for sp in started:
            wait_until(
                lambda sp=sp: requests.get(sp.pod_url + "/healthz", timeout=2).ok,
                timeout=60,
                what=f"fake upstream on {sp.pod_url}",
            )
        yield started
    finally:
        for sp in started:
            stop(sp.proc)


@contextmanager
def gateway_over(
    tmp: Path, catalog: ServiceProcess, inventory: ServiceProcess, orders: ServiceProcess, **extra: str
) -> Iterator[ServiceProcess]:
    """A gateway whose catalog, inventory and orders are these (fake) upstreams, `extra` in its environment."""
    env = {
        "RF_CATALOG_URL": catalog.url,
        "RF_INVENTORY_URL": inventory.url,
        "RF_ORDERS_URL": orders.url,
        # no caching: every request must reach an upstream for these tests to mean anything
        "RF_GATEWAY_CACHE_TTL_S": "0",
        "RF_GATEWAY_STOCK_TTL_S": "0",
        **extra,
    }
    with run_service("gateway", tmp, env, seed=False) as (gateway,):
        yield gateway


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# -- tests ----------------------------------------------------------------------------------------


def test_a_replica_killed_under_load_does_not_surface_as_an_error_to_clients(tmp_path: Path) -> None:
    with (
        fake_upstream(tmp_path, replicas=2) as catalog,
        fake_upstream(tmp_path) as rest,
        gateway_over(tmp_path, catalog[0], rest[0], rest[0]) as gateway,
    ):
        url = gateway.url + "/api/products/SKU-1"
        stopping = threading.Event()
        killed_at = [float("inf")]
        results: list[tuple[float, int, str]] = []  # appended by every client (list.append is atomic)

        def client() -> None:
            with requests.Session() as s:
                while not stopping.is_set():
                    r = s.get(url, timeout=10)
                    results.append((time.monotonic(), r.status_code, r.text[:200]))

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(client) for _ in range(6)]
            try:
                # both replicas serve before the kill
                wait_until(
                    lambda: len({requests.get(url, timeout=5).json()["served_by"] for _ in range(20)}) == 2,
                    timeout=30,
                    what="both catalog replicas to answer",
                )
                victim = catalog[0].proc
                os.kill(victim.pid, signal.SIGKILL)
                killed_at[0] = time.monotonic()
                victim.wait(timeout=10)
                # enough requests after the kill to have met the dead replica, however slow the machine
                wait_until(lambda: sum(row[0] > killed_at[0] for row in results) > 100, timeout=60,
                           what="100 requests after the kill")  # fmt: skip
            finally:
                stopping.set()
            for future in futures:
                future.result()
        failures = [row for row in results if row[1] != 200]
        assert not failures, f"{len(failures)} of {len(results)} requests failed, e.g. {failures[:3]}"
        survivor = catalog[1].proc.pid
        assert {requests.get(url, timeout=5).json()["served_by"] for _ in range(10)} == {survivor}


def test_a_dead_upstream_opens_its_circuit_and_the_gateway_answers_503_fast(tmp_path: Path) -> None:
    with (
        fake_upstream(tmp_path) as catalog,
        fake_upstream(tmp_path) as rest,
        # the cool-down outlasts the four calls below on a busy machine, and the recovery is waited for
        gateway_over(
            tmp_path, catalog[0], rest[0], rest[0], RF_BREAKER_FAILURES="3", RF_BREAKER_COOLDOWN_S="5"
        ) as gateway,
    ):
        api = gateway.url
        assert requests.get(api + "/api/categories", timeout=5).status_code == 200
        port = int(catalog[0].url.rsplit(":", 1)[1])
        stop(catalog[0].proc)

        answers = [requests.get(api + "/api/categories", timeout=10) for _ in range(3)]
        assert [a.status_code for a in answers] == [503, 503, 503]
        assert answers[0].json()["error"] == "catalog_unavailable"
        assert "catalog did not answer" in answers[0].json()["detail"]

        fast = requests.get(api + "/api/categories", timeout=10)
        assert fast.status_code == 503
        assert fast.json()["error"] == "catalog_unavailable"
        assert "circuit open" in fast.json()["detail"]  # answered without asking the upstream
        assert 1 <= int(fast.headers["Retry-After"]) <= 5  # what is left of the 5 s cool-down
        assert fast.headers["X-Request-ID"]
        states = requests.get(api + "/admin/breakers", timeout=5).json()
        assert states["catalog"]["state"] == "open"
        assert states["inventory"]["state"] == "closed"
        metrics = requests.get(api + "/metrics", timeout=5).text
        assert 'gateway_circuit_state{upstream="catalog"} 1.0' in metrics
        # the other upstreams are unaffected
        assert requests.post(api + "/api/carts", timeout=5).status_code == 201

        # the upstream comes back: after the cool-down a probe closes the circuit
        with fake_upstream(tmp_path, port=port):
            answer = wait_until(
                lambda: requests.get(api + "/api/categories", timeout=5).status_code == 200,
                timeout=30,
                what="the circuit to close again",
            )
            assert answer
            assert requests.get(api + "/admin/breakers", timeout=5).json()["catalog"]["state"] == "closed"


FROZEN_TIMEOUT_S = 2.0  # far above a loopback round trip on a busy machine, so "waited" and "fast" never meet


def test_a_frozen_upstream_times_out_then_its_circuit_opens(tmp_path: Path) -> None:
    with (
        fake_upstream(tmp_path) as catalog,
        fake_upstream(tmp_path) as rest,
        gateway_over(
            tmp_path,
            rest[0],
            catalog[0],  # the frozen one is inventory
            rest[0],
            RF_BREAKER_FAILURES="2",
            RF_BREAKER_COOLDOWN_S="60",  # still open for the fast call and the page, however slow the machine
            RF_INVENTORY_TIMEOUT_S=str(FROZEN_TIMEOUT_S),
            RF_UPSTREAM_RETRIES="0",
        ) as gateway,
    ):
        os.kill(catalog[0].proc.pid, signal.SIGSTOP)  # inventory now accepts connections and never answers
        try:
            for _ in range(2):
                start = time.perf_counter()
                slow = requests.get(gateway.url + "/api/products/SKU-1", timeout=10)
                assert slow.status_code == 503
                assert slow.json()["error"] == "inventory_unavailable"
                assert FROZEN_TIMEOUT_S * 0.9 < time.perf_counter() - start < FROZEN_TIMEOUT_S + 10
            start = time.perf_counter()
            fast = requests.get(gateway.url + "/api/products/SKU-1", timeout=10)
            assert time.perf_counter() - start < FROZEN_TIMEOUT_S / 2  # did not wait for the frozen upstream
            assert fast.json() == {"error": "inventory_unavailable", "detail": fast.json()["detail"]}
            assert "circuit open" in fast.json()["detail"]
            # the product page degrades instead of failing: stock unknown, still for sale
            page = requests.get(gateway.url + "/p/SKU-1", timeout=10)
            assert page.status_code == 200
            assert 'data-stock="unknown"' in page.text
            assert "<h1>Aurora 55in OLED TV</h1>" in page.text
        finally:
            os.kill(catalog[0].proc.pid, signal.SIGCONT)


def test_business_answers_idempotency_keys_and_request_ids_pass_through(tmp_path: Path) -> None:
    with (
        fake_upstream(tmp_path) as fake,
        gateway_over(tmp_path, fake[0], fake[0], fake[0]) as gateway,
    ):
        order = gateway.url + "/api/orders"
        body = {"cart_id": "cart-1", "payment_token": "tok_visa"}
        sold_out = requests.post(order, json=body, headers={"Idempotency-Key": "sold-out"}, timeout=10)
        assert (sold_out.status_code, sold_out.json()) == (
            409,
            {"error": "sold_out", "detail": "SKU-2 sold out", "sku": "SKU-2"},
        )
        declined = requests.post(order, json=body, headers={"Idempotency-Key": "declined"}, timeout=10)
        assert (declined.status_code, declined.json()["error"]) == (402, "payment_declined")
        placed = requests.post(
            order, json=body, headers={"Idempotency-Key": "k-1", "X-Request-ID": "trace-42"}, timeout=10
        )
        assert placed.status_code == 201
        assert placed.json()["order_id"] == "order-k-1"
        assert placed.json()["request_id_seen"] == "trace-42"
        assert placed.headers["X-Request-ID"] == "trace-42"
        missing = requests.post(order, json=body, timeout=10)
        assert missing.status_code == 400
        assert missing.json()["error"] == "missing_idempotency_key"
        assert requests.get(gateway.url + "/", timeout=10).headers["X-Request-ID"]


def test_a_client_over_the_rate_limit_gets_429_with_retry_after_and_probes_are_exempt(tmp_path: Path) -> None:
    with (
        fake_upstream(tmp_path) as fake,
        gateway_over(tmp_path, fake[0], fake[0], fake[0], RF_RATE_LIMIT_RPS="2", RF_RATE_LIMIT_BURST="5") as gateway,
        requests.Session() as s,
    ):
        start = time.monotonic()
        answers = [s.get(gateway.url + "/api/categories", timeout=10) for _ in range(30)]
        refilled = (time.monotonic() - start) * 2  # tokens that came back while the loop ran
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) <= 5 + int(refilled) + 1, statuses
        limited = [a for a in answers if a.status_code == 429]
        assert limited, statuses
        assert int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].json()["error"] == "rate_limited"
        assert "more than 2 requests/s from 127.0.0.1" in limited[0].json()["detail"]
        assert limited[0].headers["X-Request-ID"]
        assert all(s.get(gateway.url + "/healthz", timeout=10).status_code == 200 for _ in range(10))
        assert "gateway_rate_limited_total" in s.get(gateway.url + "/metrics", timeout=10).text
        wait_until(
            lambda: s.get(gateway.url + "/api/categories", timeout=10).status_code == 200,
            interval=0.5,
            timeout=10,
            what="the client to be let back in",
        )


if __name__ == "__main__":
    serve_fake(sys.argv[1:])
