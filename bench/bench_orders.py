"""Orders: requests/s and server CPU per request for carts and for a full checkout (the saga's
three upstream hops and five event-store transactions), against an idempotent replay.

Starts catalog, inventory, payments and one orders replica (embedded profile, 2,000 products,
provider latency 0) and drives orders from this process with aiohttp at a fixed concurrency.
CPU is each process's own CPU time (psutil); ratios are to /healthz of orders in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import tempfile
from contextlib import ExitStack

import aiohttp
import requests

from bench._drive import Call, drive, service

PRODUCTS = 2000


async def _expect(response: aiohttp.ClientResponse, *statuses: int) -> dict[str, object]:
    body = await response.json(content_type=None)
    if response.status not in statuses:
        raise RuntimeError(f"{response.status} from {response.method} {response.url}: {body}")
    return dict(body)


def _calls() -> dict[str, Call]:
    rng = random.Random(1)
    skus = [f"SKU-{n:06d}" for n in range(1, PRODUCTS + 1)]
    keys = itertools.count()
    placed: list[tuple[str, str]] = []

    async def healthz(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(base + "/healthz") as r:
            await _expect(r, 200)

    async def cart(session: aiohttp.ClientSession, base: str) -> str:
        async with session.post(base + "/carts") as r:
            cart_id = str((await _expect(r, 201))["cart_id"])
        async with session.post(f"{base}/carts/{cart_id}/items", json={"sku": rng.choice(skus), "qty": 1}) as r:
            await _expect(r, 200)
        return cart_id

    async def cart_only(session: aiohttp.ClientSession, base: str) -> None:
        await cart(session, base)

    async def checkout(session: aiohttp.ClientSession, base: str) -> None:
        cart_id, key = await cart(session, base), f"bench-{next(keys)}"
        body = {"cart_id": cart_id, "payment_token": "tok_visa"}
        async with session.post(base + "/orders", json=body, headers={"Idempotency-Key": key}) as r:
            await _expect(r, 201, 409)  # a sku may sell out during the run
        placed.append((cart_id, key))

    async def replay(session: aiohttp.ClientSession, base: str) -> None:
        cart_id, key = rng.choice(placed)
        body = {"cart_id": cart_id, "payment_token": "tok_visa"}
        async with session.post(base + "/orders", json=body, headers={"Idempotency-Key": key}) as r:
            await _expect(r, 201, 409)

    return {
        "healthz (baseline)": healthz,
        "new cart + add item (2 req)": cart_only,
        "checkout: cart, item, place (3 req)": checkout,
        "replay of a placed key (1 req)": replay,
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir, ExitStack() as stack:
        urls, procs = {}, []
        for name in ("catalog", "inventory", "payments"):
            urls[name], proc = stack.enter_context(service(name, data_dir, {}))
            procs.append(proc)
        requests.put(urls["payments"] + "/admin/provider", json={"latency_ms": 0, "failure_rate": 0}, timeout=10)
        upstreams = {f"RF_{name.upper()}_URL": url for name, url in urls.items()}
        base, orders = stack.enter_context(service("orders", data_dir, upstreams))
        everyone = [orders, *procs]
        print(
            f"{'kind':38} {'calls/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'orders cpu ms':>14} {'x':>6} {'shop cpu ms':>12}"
        )
        baseline = None
        for kind, call in _calls().items():
            rate, p50, p95, own, shop = asyncio.run(drive(base, call, [orders], everyone))
            baseline = baseline or own
            print(f"{kind:38} {rate:8.0f} {p50:8.2f} {p95:8.2f} {own:14.3f} {own / baseline:6.1f} {shop:12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
