"""Gateway: requests/s and gateway CPU per request by kind, cached and uncached, vs /healthz.

Starts the real services (embedded profile, 2,000 products) and two gateways in front of them:
one as shipped (catalog answers and rendered pages cached for seconds) and one with caching
off, so the ratio shows what the cache saves per request. CPU per request is the gateway
process's own CPU time (psutil), which a busy machine disturbs less than wall-clock rates.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import psutil

from bench._drive import drive, get_ok
from retailflow.runtime.standalone import run_service
from retailflow.seed.catalog import generate

PRODUCTS = 2000


def main() -> int:
    catalog = generate(products=PRODUCTS)
    rng = random.Random(1)
    skus = [p.sku for p in catalog.products]
    terms = catalog.search_terms()[:20]
    leaves = [c.slug for c in catalog.categories if c.parent]
    kinds: dict[str, Callable[[], str]] = {
        "healthz (baseline)": lambda: "/healthz",
        "GET /api/categories": lambda: "/api/categories",
        "GET /api/products/{sku} (+stock)": lambda: f"/api/products/{rng.choice(skus[:200])}",
        "GET /api/search": lambda: f"/api/search?q={rng.choice(terms)}",
        "page / (home)": lambda: "/",
        "page /c/{slug}": lambda: f"/c/{rng.choice(leaves)}",
        "page /p/{sku}": lambda: f"/p/{rng.choice(skus[:200])}",
        "page /search": lambda: f"/search?q={rng.choice(terms)}",
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        data_dir = Path(tmp)
        urls: dict[str, str] = {}
        started = time.perf_counter()
        for service in ("legacy", "inventory", "catalog", "payments", "orders"):
            env = {f"RF_{n.upper()}_URL": u for n, u in urls.items()}
            (proc,) = stack.enter_context(run_service(service, data_dir, {"RF_PRODUCTS": str(PRODUCTS), **env}))
            urls[service] = proc.url
        # One client drives thousands of req/s here: the per-IP rate limit (2000 req/s) would answer 429.
        upstreams = {f"RF_{n.upper()}_URL": u for n, u in urls.items()} | {"RF_RATE_LIMIT_RPS": "0"}
        (cached,) = stack.enter_context(run_service("gateway", data_dir, upstreams, seed=False))
        (uncached,) = stack.enter_context(
            run_service(
                "gateway",
                data_dir,
                {**upstreams, "RF_GATEWAY_CACHE_TTL_S": "0", "RF_GATEWAY_STOCK_TTL_S": "0"},
                seed=False,
            )
        )
        print(f"shop started (5 services seeded + 2 gateways): {time.perf_counter() - started:.1f} s")
        print(f"{'kind':34} {'cache':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms/req':>11} {'cpu x':>7}")
        for label, gateway in (("on", cached), ("off", uncached)):
            proc = psutil.Process(gateway.proc.pid)
            baseline = None
            for name, paths in kinds.items():
                rate, p50, p95, cpu = asyncio.run(drive(gateway.url, get_ok(paths), [proc]))
                baseline = baseline or cpu
                print(f"{name:34} {label:>6} {rate:8.0f} {p50:8.2f} {p95:8.2f} {cpu:11.3f} {cpu / baseline:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
