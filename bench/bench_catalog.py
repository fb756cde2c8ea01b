"""Catalog: fixture generation, seeding, and requests/s + server CPU per request by kind.

Starts one catalog replica (embedded profile, 10,000 products) and drives it from this process
with aiohttp at a fixed concurrency. Ratios are to /healthz measured in the same run; server
CPU per request comes from the replica's own CPU time (psutil), which a busy machine disturbs
less than wall-clock rates.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench._drive import drive, get_ok
from retailflow.runtime.standalone import free_port
from retailflow.seed.catalog import generate


def main() -> int:
    started = time.perf_counter()
    catalog = generate()
    print(f"seed.generate(10,000 products): {(time.perf_counter() - started) * 1000:.0f} ms")

    rng = random.Random(1)
    skus = [p.sku for p in catalog.products]
    terms = catalog.search_terms()
    leaves = [c.slug for c in catalog.categories if c.parent]
    sorts = ("relevance", "price_asc", "price_desc", "name")
    kinds: dict[str, Callable[[], str]] = {
        "healthz (baseline)": lambda: "/healthz",
        "product detail (cached)": lambda: f"/products/{rng.choice(skus[:200])}",
        "category page (cached)": lambda: f"/products?category={rng.choice(leaves)}",
        "search, popular terms (cached)": lambda: f"/search?q={rng.choice(terms[:20])}",
        "search, cold (distinct queries)": lambda: (
            f"/search?q={rng.choice(terms)}&sort={rng.choice(sorts)}&page={rng.randint(1, 3)}"
            f"&min_price={rng.randint(0, 50) * 100}"
        ),
    }

    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RF_")},
            "RF_DATA_DIR": data_dir,
            "RF_PRODUCTS": "10000",
        }
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "retailflow.serve", "catalog", "--seed-only"], env=env, check=True)
        print(
            f"seed-only, 10,000 products into SQLite + FTS5 (process included): {time.perf_counter() - started:.2f} s"
        )
        port = free_port()
        log = open(Path(data_dir) / "catalog.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "retailflow.serve",
                "catalog",
                "--service-port",
                str(port),
                "--pod-port",
                str(free_port()),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        print("catalog did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.05)
            proc = psutil.Process(server.pid)
            baseline = None
            print(f"{'kind':34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms/req':>11} {'cpu x':>7}")
            for name, paths in kinds.items():
                rate, p50, p95, cpu = asyncio.run(drive(base, get_ok(paths), [proc]))
                baseline = baseline or cpu
                print(f"{name:34} {rate:8.0f} {p50:8.2f} {p95:8.2f} {cpu:11.3f} {cpu / baseline:7.2f}")
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
