"""What the gateway asks the services, with short-lived caching of catalog answers and stock.

The gateway is on every request's path, so a catalog answer that changes rarely (categories,
listings, product details) is kept in process for seconds: a dict lookup instead of a hop.
Stock is shown, never decided on here (orders reserve it), and its cache is kept honest:
- a doorbuster's stock is never cached: it sells out within seconds while shoppers refresh its
  page, and "20 left" on a sold-out item sends them into a checkout that can only fail;
- any other SKU's stock is kept for `stock_ttl_s` (a second by default), and forgotten as soon as
  this replica sees an order take it or a "sold out" for it. Another replica may still show the
  old number until its entry expires: for an ordinary SKU, a lag of one TTL is acceptable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from retailflow.common.cache import LocalCache
from retailflow.common.errors import ShopHTTPError
from retailflow.common.upstream import UpstreamResponse
from retailflow.gateway.settings import GatewaySettings
from retailflow.gateway.upstreams import GuardedUpstream

__all__ = ["ShopClient"]


def _stock_path(sku: str) -> str:
    return f"/stock/{sku}"  # `sku` already quoted for a path, as path_id returns it


def _is_doorbuster(product: Any) -> bool:
    return isinstance(product, dict) and bool(product.get("doorbuster"))


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

    @staticmethod
    def _key(upstream: GuardedUpstream, path: str) -> str:
        return f"{upstream.name}:{path}"

    async def _cached(self, upstream: GuardedUpstream, path: str, ttl_s: float) -> UpstreamResponse:
        key = self._key(upstream, path)
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
        """Stock of a SKU that is not a doorbuster (see the module's docstring)."""
        return await self._cached(self.inventory, _stock_path(sku), self.settings.stock_ttl_s)

    async def product_and_stock(self, sku: str) -> tuple[UpstreamResponse, UpstreamResponse | BaseException]:
        """The catalog's product and inventory's stock, asked at once; the stock may have failed."""
        known = await self.cache.get(f"catalog:/products/{sku}")
        if known is not None:  # the usual case: one hop, and no tasks to gather
            stock_of = self.inventory.get(_stock_path(sku)) if _is_doorbuster(known) else self.stock(sku)
            try:
                return UpstreamResponse(200, known), await stock_of
            except ShopHTTPError as exc:
                return UpstreamResponse(200, known), exc
        # Not knowing yet whether it is a doorbuster, ask inventory itself; keep the answer only
        # once the product says it may be kept.
        product, stock = await asyncio.gather(
            self.catalog_get(f"/products/{sku}"), self.inventory.get(_stock_path(sku)), return_exceptions=True
        )
        if isinstance(product, BaseException):
            raise product
        cacheable = product.ok and not _is_doorbuster(product.body) and self.settings.stock_ttl_s > 0
        if cacheable and not isinstance(stock, BaseException) and stock.status == 200:
            await self.cache.set(self._key(self.inventory, _stock_path(sku)), stock.body, self.settings.stock_ttl_s)
        return product, stock

    async def _forget_stock(self, answer: UpstreamResponse) -> None:
        """An order took stock (its items) or found a SKU sold out: this replica's number is old."""
        body = answer.body if isinstance(answer.body, dict) else {}
        skus: set[str] = set()
        if answer.status == 201:
            skus = {str(item.get("sku")) for item in body.get("items", []) if isinstance(item, dict)}
        elif answer.status == 409 and body.get("error") == "sold_out":
            skus = {str(body.get("sku"))}
        for sku in skus:
            await self.cache.delete(self._key(self.inventory, _stock_path(quote(sku, safe=""))))

    async def cart(self, cart_id: str) -> UpstreamResponse:
        return await self.orders.get(f"/carts/{cart_id}")

    async def new_cart(self, body: Any = None) -> UpstreamResponse:
        # Retried on a dead connection (an orders replica killed under it): a repeat makes at most
        # one empty cart nobody uses, while a 503 would end the shopper's visit. Adding an item is
        # not retried: a repeat would add it twice.
        return await self.orders.request("POST", "/carts", json=body if body is not None else {}, retry=True)

    async def add_item(self, cart_id: str, body: Any) -> UpstreamResponse:
        return await self.orders.request("POST", f"/carts/{cart_id}/items", json=body)

    async def remove_item(self, cart_id: str, sku: str) -> UpstreamResponse:
        return await self.orders.request("DELETE", f"/carts/{cart_id}/items/{sku}")

    async def place_order(self, idempotency_key: str, body: Any) -> UpstreamResponse:
        # Safe to retry on a dead connection: orders answers a repeated key with the first answer.
        answer = await self.orders.request(
            "POST", "/orders", json=body, retry=True, headers={"Idempotency-Key": idempotency_key}
        )
        await self._forget_stock(answer)
        return answer

    async def order(self, order_id: str) -> UpstreamResponse:
        return await self.orders.get(f"/orders/{order_id}")
