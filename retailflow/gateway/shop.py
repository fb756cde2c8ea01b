"""What the gateway asks the services, with short-lived caching of catalog answers and stock.

The gateway is on every request's path, so a catalog answer that changes rarely (categories,
listings, product details) is kept in process for seconds: a dict lookup instead of a hop.
Stock is kept for a second only; it is shown, never decided on here (orders reserve it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from retailflow.common.cache import LocalCache
from retailflow.common.errors import ShopHTTPError
from retailflow.common.upstream import UpstreamResponse
from retailflow.gateway.settings import GatewaySettings
from retailflow.gateway.upstreams import GuardedUpstream

__all__ = ["ShopClient"]


class ShopClient:
    def __init__(
        self, upstreams: Mapping[str, GuardedUpstream], settings: GatewaySettings, cache: LocalCache | None = None
    ) -> None:
        self.catalog = upstreams["catalog"]
        self.inventory = upstreams["inventory"]
        self.orders = upstreams["orders"]
        self.settings = settings
        self.cache = cache or LocalCache()
        self._pending: dict[str, asyncio.Future[UpstreamResponse]] = {}

    async def _cached(self, upstream: GuardedUpstream, path: str, ttl_s: float) -> UpstreamResponse:
        key = f"{upstream.name}:{path}"
        hit = await self.cache.get(key)
        if hit is not None:
            return UpstreamResponse(200, hit)
        if ttl_s <= 0:
            return await upstream.get(path)
        # one call per key at a time: when a hot entry expires, its waiters share the next answer
        # instead of all asking the upstream at once
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._load(upstream, path, key, ttl_s))
        return await asyncio.shield(pending)

    async def _load(self, upstream: GuardedUpstream, path: str, key: str, ttl_s: float) -> UpstreamResponse:
        try:
            response = await upstream.get(path)
            if response.status == 200:
                await self.cache.set(key, response.body, ttl_s)
            return response
        finally:
            self._pending.pop(key, None)

    async def catalog_get(self, path: str) -> UpstreamResponse:
        return await self._cached(self.catalog, path, self.settings.cache_ttl_s)

    async def stock(self, sku: str) -> UpstreamResponse:
        return await self._cached(self.inventory, f"/stock/{sku}", self.settings.stock_ttl_s)

    async def product_and_stock(self, sku: str) -> tuple[UpstreamResponse, UpstreamResponse | BaseException]:
        """The catalog's product and inventory's stock, asked at once; the stock may have failed."""
        known = await self.cache.get(f"catalog:/products/{sku}")
        if known is not None:  # the usual case: one hop, and no tasks to gather
            try:
                return UpstreamResponse(200, known), await self.stock(sku)
            except ShopHTTPError as exc:
                return UpstreamResponse(200, known), exc
        product, stock = await asyncio.gather(
            self.catalog_get(f"/products/{sku}"), self.stock(sku), return_exceptions=True
        )
        if isinstance(product, BaseException):
            raise product
        return product, stock

    async def cart(self, cart_id: str) -> UpstreamResponse:
        return await self.orders.get(f"/carts/{cart_id}")

    async def new_cart(self, body: Any = None) -> UpstreamResponse:
        return await self.orders.request("POST", "/carts", json=body if body is not None else {})

    async def add_item(self, cart_id: str, body: Any) -> UpstreamResponse:
        return await self.orders.request("POST", f"/carts/{cart_id}/items", json=body)

    async def remove_item(self, cart_id: str, sku: str) -> UpstreamResponse:
        return await self.orders.request("DELETE", f"/carts/{cart_id}/items/{sku}")

    async def place_order(self, idempotency_key: str, body: Any) -> UpstreamResponse:
        # Safe to retry on a dead connection: orders answers a repeated key with the first answer.
        return await self.orders.request(
            "POST", "/orders", json=body, retry=True, headers={"Idempotency-Key": idempotency_key}
        )

    async def order(self, order_id: str) -> UpstreamResponse:
        return await self.orders.get(f"/orders/{order_id}")
