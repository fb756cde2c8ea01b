"""The checkout saga: reserve stock → authorize payment → commit stock → capture → confirm.

Each step is recorded as an event before the next one starts, so the log always says how far a
checkout got. Before stock is committed every failure compensates (release the reservation,
void the payment) and ends in OrderFailed; after it, the saga only rolls forward, because the
units are sold. Reservation and payment ids are the order id, so a compensation can always name
what to undo even when the step's answer was lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from retailflow.orders.domain.model import Order
from retailflow.orders.service_layer.ports import (
    ConcurrencyConflict,
    Inventory,
    OrderRepository,
    Outcome,
    Payments,
    StockAlreadyCommitted,
    UpstreamFailed,
)

__all__ = ["CheckoutSaga", "confirmed_body"]

log = logging.getLogger("retailflow.orders.saga")


def confirmed_body(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "status": "confirmed",
        "items": list(order.state.items),
        "total_cents": order.state.total_cents,
    }


def _failure(status: int, code: str, detail: str, order: Order, *, final: bool = True, **extra: Any) -> Outcome:
    return Outcome(status, {"error": code, "detail": detail, "order_id": order.order_id, **extra}, final=final)


class CheckoutSaga:
    def __init__(
        self,
        orders: OrderRepository,
        inventory: Inventory,
        payments: Payments,
        *,
        reservation_ttl_s: int = 120,
        capture_attempts: int = 3,
    ) -> None:
        self.orders = orders
        self.inventory = inventory
        self.payments = payments
        self.reservation_ttl_s = reservation_ttl_s
        self.capture_attempts = capture_attempts

    async def run(self, order: Order, payment_token: str) -> Outcome:
        """Drive a placed order to confirmed or failed; the outcome is the client's answer."""
        try:
            return await self._run(order, payment_token)
        except ConcurrencyConflict:
            # A recovery took this order over; its answer is stored with the idempotency key.
            return _failure(
                503,
                "checkout_interrupted",
                "the checkout was taken over by recovery; retry with the same key",
                order,
                final=False,
            )

    async def _run(self, order: Order, payment_token: str) -> Outcome:
        oid = order.order_id
        try:
            reservation = await self.inventory.reserve(oid, order.state.items, self.reservation_ttl_s)
        except UpstreamFailed as exc:
            return await self.compensate(order, "inventory_unavailable", f"reserving stock failed: {exc}")
        if not reservation.held:
            outcome = _failure(409, "sold_out", f"not enough stock of {reservation.sku}", order, sku=reservation.sku)
            order.fail("sold_out", outcome.body["detail"], reservation.sku)
            self.orders.save(order, outcome)
            return outcome
        order.reserve(oid)
        self.orders.save(order)

        try:
            authorized = await self.payments.authorize(oid, oid, order.state.total_cents, payment_token)
        except UpstreamFailed as exc:
            return await self.compensate(order, "payments_unavailable", f"authorizing the payment failed: {exc}")
        if not authorized:
            return await self.compensate(
                order, "payment_declined", "the payment provider declined the payment", status=402
            )
        order.authorize(oid)
        self.orders.save(order)

        try:
            committed = await self.inventory.commit(oid)
        except UpstreamFailed as exc:
            return await self.compensate(order, "inventory_unavailable", f"committing the stock failed: {exc}")
        if not committed:
            return await self.compensate(
                order, "reservation_expired", "the stock reservation expired before the payment completed", status=409
            )
        order.commit_stock()
        self.orders.save(order)
        return await self.finish(order)

    async def finish(self, order: Order) -> Outcome:
        """Roll forward from committed stock: capture (idempotent, retried) and confirm."""
        if order.status == "stock_committed":
            for attempt in range(self.capture_attempts):
                try:
                    await self.payments.capture(order.state.payment_id or order.order_id)
                    break
                except UpstreamFailed as exc:
                    log.warning("capture failed", extra={"order_id": order.order_id, "error": str(exc)})
                    if attempt + 1 == self.capture_attempts:
                        # Stock is sold: recovery keeps trying; the key stays in flight until then.
                        return _failure(
                            503, "capture_pending", f"the payment capture is pending: {exc}", order, final=False
                        )
                    await asyncio.sleep(0.2 * (attempt + 1))
            order.capture()
        outcome = Outcome(201, confirmed_body(order))
        order.confirm()
        self.orders.save(order, outcome)
        return outcome

    async def compensate(self, order: Order, code: str, detail: str, *, status: int = 503) -> Outcome:
        """Undo whatever may have happened upstream (both calls are idempotent) and fail the order.

        The stock goes first: if inventory had committed it (the commit applied but its answer was
        lost to a crash or a timeout) the units are sold, so an authorized order rolls forward to
        capture and confirm instead of becoming a failed order with sold stock and no sale.
        """
        oid = order.order_id
        undone: dict[str, bool] = {}
        try:
            await self.inventory.release(order.state.reservation_id or oid)
            order.release_stock(order.state.reservation_id or oid)
            undone["stock_released"] = True
        except StockAlreadyCommitted:
            if order.status == "authorized":
                log.warning("stock was committed after all; rolling forward", extra={"order_id": oid})
                order.commit_stock()
                self.orders.save(order)
                return await self.finish(order)
            log.error("stock committed without an authorized payment", extra={"order_id": oid})
            undone["stock_released"] = False
        except UpstreamFailed as exc:
            log.warning(
                "release failed; the reservation's TTL frees the stock", extra={"order_id": oid, "error": str(exc)}
            )
            undone["stock_released"] = False
        if order.status != "placed":  # an authorization may exist only once stock was reserved
            try:
                await self.payments.void(order.state.payment_id or oid)
                order.void_payment(order.state.payment_id or oid)
                undone["payment_voided"] = True
            except UpstreamFailed as exc:
                log.warning(
                    "void failed; the authorization lapses at the provider", extra={"order_id": oid, "error": str(exc)}
                )
                undone["payment_voided"] = False
        outcome = _failure(status, code, detail, order, **({} if status != 503 else {"compensation": undone}))
        order.fail(code, detail)
        self.orders.save(order, outcome)
        return outcome
