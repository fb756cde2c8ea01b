"""Inventory: requests/s and server CPU per request for stock reads and reserve+commit, with the
dual-write to legacy off and on, and how long the legacy backlog takes to drain.

Starts one inventory replica without RF_LEGACY_URL and one with it (plus a legacy replica),
embedded profile, 2,000 products, and drives them from this process with aiohttp at a fixed
concurrency. Ratios are to /healthz of the same replica in the same run; CPU per request is
the replica's own CPU time (psutil), which a busy machine disturbs less than wall-clock rates.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import tempfile
import time
from contextlib import ExitStack

import aiohttp
import requests

from bench._drive import Call, drive, service
from retailflow.runtime.standalone import free_port

PRODUCTS = 2000


async def _expect(response: aiohttp.ClientResponse, status: int) -> None:
    await response.read()
    if response.status != status:
        raise RuntimeError(f"{response.status} from {response.method} {response.url}")


def _calls(tag: str) -> dict[str, Call]:
    rng = random.Random(1)
    skus = [f"SKU-{n:06d}" for n in range(1, PRODUCTS + 1)]
    ids = itertools.count()

    async def healthz(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(base + "/healthz") as r:
            await _expect(r, 200)

    async def stock(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(f"{base}/stock/{rng.choice(skus)}") as r:
            await _expect(r, 200)

    async def reserve_commit(session: aiohttp.ClientSession, base: str) -> None:
        rid = f"{tag}-{next(ids)}"
        body = {"reservation_id": rid, "items": [{"sku": rng.choice(skus), "qty": 1}], "ttl_s": 600}
        async with session.post(base + "/reservations", json=body) as r:
            await _expect(r, 201)
        async with session.post(f"{base}/reservations/{rid}/commit") as r:
            await _expect(r, 200)

    return {"healthz (baseline)": healthz, "GET /stock/{sku}": stock, "reserve + commit (2 requests)": reserve_commit}


def main() -> int:
    with tempfile.TemporaryDirectory() as off_dir, tempfile.TemporaryDirectory() as on_dir, ExitStack() as stack:
        legacy_port = free_port()
        legacy, _ = stack.enter_context(service("legacy", on_dir, {}, legacy_port))
        runs = {
            "dual-write off": stack.enter_context(service("inventory", off_dir, {})),
            "dual-write on": stack.enter_context(
                service("inventory", on_dir, {"RF_LEGACY_URL": legacy, "RF_INVENTORY_RECONCILE_INTERVAL_S": "0"})
            ),
        }
        print(f"{'inventory':16} {'kind':30} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms/req':>11} {'cpu x':>7}")
        for label, (base, proc) in runs.items():
            baseline = None
            for kind, call in _calls(label.replace(" ", "-")).items():
                rate, p50, p95, cpu = asyncio.run(drive(base, call, [proc]))
                baseline = baseline or cpu
                print(f"{label:16} {kind:30} {rate:8.0f} {p50:8.2f} {p95:8.2f} {cpu:11.3f} {cpu / baseline:7.2f}")
        on = runs["dual-write on"][0]
        started = time.perf_counter()
        while (pending := requests.get(on + "/admin/sync", timeout=10).json()["pending"]) > 0:
            if time.perf_counter() - started > 60:
                print(f"legacy backlog still {pending} rows after 60 s", file=sys.stderr)
                return 1
            time.sleep(0.05)
        reconcile = requests.post(on + "/admin/reconcile", timeout=60).json()
        print(
            f"legacy backlog drained {time.perf_counter() - started:.2f} s after the load stopped; "
            f"reconcile of {reconcile['checked']} rows: {reconcile['divergent']} divergent, "
            f"{reconcile['seconds']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
