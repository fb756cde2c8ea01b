"""What the gateway asks its upstreams: cached catalog answers, one call per key at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from retailflow.common.errors import ServiceUnavailable
from retailflow.common.upstream import Upstream, UpstreamResponse
from retailflow.gateway.breaker import CircuitBreaker
from retailflow.gateway.settings import GatewaySettings
from retailflow.gateway.shop import ShopClient
from retailflow.gateway.upstreams import GuardedUpstream


class ScriptedUpstream(GuardedUpstream):
    """Answers from a script instead of the network; calls wait until the test releases them."""

    def __init__(self, name: str, answers: dict[str, UpstreamResponse | Exception]) -> None:
        super().__init__(Upstream(name, "http://127.0.0.1:9"), CircuitBreaker(name))
        self.answers = answers
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    async def request(self, method: str, path: str, **kw: Any) -> UpstreamResponse:
        self.calls.append(f"{method} {path}")
        await self.release.wait()
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(
    catalog: dict[str, UpstreamResponse | Exception], inventory: dict[str, UpstreamResponse | Exception] | None = None
) -> ShopClient:
    upstreams = {
        "catalog": ScriptedUpstream("catalog", catalog),
        "inventory": ScriptedUpstream("inventory", inventory or {}),
        "orders": ScriptedUpstream("orders", {}),
    }
    return ShopClient(upstreams, GatewaySettings(cache_ttl_s=60, stock_ttl_s=60))


def test_concurrent_misses_of_one_key_make_one_upstream_call_and_share_its_answer() -> None:
    shop = client({"/categories": UpstreamResponse(200, [{"slug": "tv"}])})
    catalog = shop.catalog
    assert isinstance(catalog, ScriptedUpstream)

    async def scenario() -> list[UpstreamResponse]:
        catalog.release.clear()
        waiting = [asyncio.ensure_future(shop.catalog_get("/categories")) for _ in range(10)]
        await asyncio.sleep(0)
        catalog.release.set()
        return list(await asyncio.gather(*waiting))

    answers = asyncio.run(scenario())
    assert catalog.calls == ["GET /categories"]
    assert {a.status for a in answers} == {200}
    assert all(a.body == [{"slug": "tv"}] for a in answers)
    asyncio.run(shop.catalog_get("/categories"))  # cached now
    assert len(catalog.calls) == 1


def test_a_failed_call_reaches_every_waiter_and_is_not_cached() -> None:
    shop = client({"/doorbusters": ServiceUnavailable("catalog did not answer", code="catalog_unavailable")})

    async def scenario() -> list[Any]:
        return list(await asyncio.gather(*(shop.catalog_get("/doorbusters") for _ in range(3)), return_exceptions=True))

    results = asyncio.run(scenario())
    assert all(isinstance(r, ServiceUnavailable) and r.code == "catalog_unavailable" for r in results)
    with pytest.raises(ServiceUnavailable, match="catalog did not answer"):
        asyncio.run(shop.catalog_get("/doorbusters"))  # asked again, not served from a cache
    assert shop.catalog.calls.count("GET /doorbusters") == 2  # type: ignore[attr-defined]


def test_only_successful_answers_are_cached() -> None:
    shop = client({"/products/NOPE": UpstreamResponse(404, {"error": "unknown_sku", "detail": "no NOPE"})})
    for _ in range(2):
        assert asyncio.run(shop.catalog_get("/products/NOPE")).status == 404
    assert len(shop.catalog.calls) == 2  # type: ignore[attr-defined]


def test_a_cached_product_with_failing_stock_comes_back_with_the_failure_not_raised() -> None:
    product = {"sku": "SKU-1", "name": "TV"}
    shop = client(
        {"/products/SKU-1": UpstreamResponse(200, product)},
        {"/stock/SKU-1": ServiceUnavailable("inventory is failing", code="inventory_unavailable")},
    )

    async def scenario() -> tuple[Any, Any]:
        await shop.catalog_get("/products/SKU-1")
        return await shop.product_and_stock("SKU-1")

    found, stock = asyncio.run(scenario())
    assert found.body == product
    assert isinstance(stock, ServiceUnavailable) and stock.code == "inventory_unavailable"


class RecordingOrders(ScriptedUpstream):
    """Orders that records whether each call may be retried on a dead connection."""

    def __init__(self) -> None:
        super().__init__("orders", {"/carts": UpstreamResponse(201, {"cart_id": "c-1"})})
        self.retried: dict[str, bool | None] = {}

    async def request(self, method: str, path: str, **kw: Any) -> UpstreamResponse:
        self.retried[f"{method} {path}"] = kw.get("retry")
        return await super().request(method, path, **kw)


def test_a_new_cart_is_retried_on_a_dead_orders_replica_but_adding_an_item_is_not() -> None:
    orders = RecordingOrders()
    orders.answers["/carts/c-1/items"] = UpstreamResponse(200, {})
    shop = ShopClient({"catalog": orders, "inventory": orders, "orders": orders}, GatewaySettings())

    async def scenario() -> None:
        await shop.new_cart()
        await shop.add_item("c-1", {"sku": "A", "qty": 1})

    asyncio.run(scenario())
    assert orders.retried["POST /carts"] is True  # a repeat makes at most one unused empty cart
    assert not orders.retried["POST /carts/c-1/items"]  # a repeat would add the item twice
