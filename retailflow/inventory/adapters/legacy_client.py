"""The legacy monolith's stock endpoint, as inventory's dual-write and reconciler see it."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote, urlencode

from retailflow.common.errors import ServiceUnavailable
from retailflow.common.upstream import Upstream
from retailflow.inventory.domain.model import Stock

__all__ = ["HttpLegacyClient", "LegacyClient", "LegacyUnavailable"]


class LegacyUnavailable(ServiceUnavailable):
    """Legacy did not take a write or answer a read (partitioned, down, or refusing)."""

    code = "legacy_unavailable"


class LegacyClient(Protocol):
    async def put(self, stock: Stock) -> None: ...
    async def get(self, sku: str) -> Stock | None: ...
    async def page(self, after: str, limit: int) -> tuple[list[Stock], str | None]: ...


def _stock(item: dict[str, Any]) -> Stock:
    # Legacy keeps no `initial`; 0 marks "unknown" in these copies.
    return Stock(item["sku"], 0, int(item["available"]), int(item["reserved"]), int(item["sold"]), int(item["version"]))


class HttpLegacyClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def put(self, stock: Stock) -> None:
        body = {"available": stock.available, "reserved": stock.reserved, "sold": stock.sold, "version": stock.version}
        try:
            resp = await self.upstream.request("PUT", f"/stock/{quote(stock.sku, safe='')}", json=body, retry=False)
        except ServiceUnavailable as exc:
            raise LegacyUnavailable(exc.detail) from exc
        if not resp.ok:
            raise LegacyUnavailable(f"legacy refused {stock.sku} v{stock.version} with status {resp.status}")

    async def get(self, sku: str) -> Stock | None:
        try:
            resp = await self.upstream.get(f"/stock/{quote(sku, safe='')}", retry=False)
        except ServiceUnavailable as exc:
            raise LegacyUnavailable(exc.detail) from exc
        if resp.status == 404:
            return None
        if not resp.ok:
            raise LegacyUnavailable(f"legacy answered {resp.status} for {sku}")
        return _stock(resp.body)

    async def page(self, after: str, limit: int) -> tuple[list[Stock], str | None]:
        try:
            resp = await self.upstream.get("/stock?" + urlencode({"after": after, "limit": limit}), retry=False)
        except ServiceUnavailable as exc:
            raise LegacyUnavailable(exc.detail) from exc
        if not resp.ok or not isinstance(resp.body, dict):
            raise LegacyUnavailable(f"legacy answered {resp.status} to a stock page")
        return [_stock(item) for item in resp.body["items"]], resp.body.get("next")

    async def close(self) -> None:
        await self.upstream.close()
