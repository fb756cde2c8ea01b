"""The saga's ports over HTTP: inventory, payments and catalog through `common.upstream`.

Every call names an id the callee is idempotent on (reservation id, payment id), so each is
safe to retry; transport failures and unexpected answers become `UpstreamFailed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retailflow.common.errors import ServiceUnavailable
from retailflow.common.upstream import Upstream, UpstreamResponse
from retailflow.orders.service_layer import ports

__all__ = ["HttpCatalog", "HttpInventory", "HttpPayments"]


async def _call(upstream: Upstream, path: str, body: Any = None) -> UpstreamResponse:
    try:
        return await upstream.request("POST", path, json=body if body is not None else {}, retry=True)
    except ServiceUnavailable as exc:
        raise ports.UpstreamFailed(exc.detail) from exc


def _unexpected(name: str, what: str, resp: UpstreamResponse) -> ports.UpstreamFailed:
    detail = resp.body.get("detail", "") if isinstance(resp.body, dict) else ""
    return ports.UpstreamFailed(f"{name} answered {resp.status} to {what} {detail}".rstrip())


class HttpInventory(ports.Inventory):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def reserve(self, reservation_id: str, items: Sequence[dict[str, Any]], ttl_s: int) -> ports.Reservation:
        body = {
            "reservation_id": reservation_id,
            "ttl_s": ttl_s,
            "items": [{"sku": i["sku"], "qty": i["qty"]} for i in items],
        }
        resp = await _call(self.upstream, "/reservations", body)
        if resp.ok:
            return ports.Reservation(True)
        # 409: short of stock (with the sku); 404: inventory does not stock a sku at all.
        if resp.status in (404, 409) and isinstance(resp.body, dict):
            return ports.Reservation(False, resp.body.get("sku"))
        raise _unexpected("inventory", "a reservation", resp)

    async def commit(self, reservation_id: str) -> bool:
        resp = await _call(self.upstream, f"/reservations/{reservation_id}/commit")
        if resp.ok:
            return True
        if resp.status in (404, 409, 410):
            return False
        raise _unexpected("inventory", "a commit", resp)

    async def release(self, reservation_id: str) -> None:
        resp = await _call(self.upstream, f"/reservations/{reservation_id}/release")
        if resp.status == 409 and isinstance(resp.body, dict) and resp.body.get("error") == "reservation_committed":
            # The commit reached inventory even though its answer never reached us: the units are sold.
            raise ports.StockAlreadyCommitted(f"reservation {reservation_id} is already committed")
        # 404: it never got reserved; 409 otherwise: already released or expired. Nothing is held.
        if not resp.ok and resp.status not in (404, 409, 410):
            raise _unexpected("inventory", "a release", resp)


class HttpPayments(ports.Payments):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def authorize(self, payment_id: str, order_id: str, amount_cents: int, token: str) -> bool:
        body = {"payment_id": payment_id, "order_id": order_id, "amount_cents": amount_cents, "token": token}
        resp = await _call(self.upstream, "/payments/authorize", body)
        if resp.ok:
            return True
        if resp.status == 402:
            return False
        raise _unexpected("payments", "an authorization", resp)

    async def capture(self, payment_id: str) -> None:
        resp = await _call(self.upstream, f"/payments/{payment_id}/capture")
        if not resp.ok:
            raise _unexpected("payments", "a capture", resp)

    async def void(self, payment_id: str) -> None:
        resp = await _call(self.upstream, f"/payments/{payment_id}/void")
        if not resp.ok and resp.status != 404:  # 404: never authorized, nothing to void
            raise _unexpected("payments", "a void", resp)


class HttpCatalog(ports.Catalog):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def price(self, sku: str) -> ports.PricedItem | None:
        resp = await _call(self.upstream, "/products/batch", {"skus": [sku]})
        if not resp.ok:
            raise _unexpected("catalog", "a price lookup", resp)
        body = resp.body
        # Accept the list shape of the public API, {"items": [...]}, or a map keyed by sku.
        if isinstance(body, dict):
            body = body.get("items", body.get("products", list(body.values()) if sku in body else []))
        for product in body if isinstance(body, list) else []:
            if isinstance(product, dict) and product.get("sku") == sku:
                return ports.PricedItem(sku, int(product["price_cents"]), str(product.get("name", sku)))
        return None
