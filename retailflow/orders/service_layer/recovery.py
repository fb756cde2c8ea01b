"""Recovery of sagas a crash interrupted: an in-flight order untouched for longer than any live
saga can take is finished by whichever replica finds it first.

Before its stock was committed it is compensated (release, void, OrderFailed "interrupted");
after, it rolls forward (capture, OrderConfirmed). The event log's unique (order_id, seq) makes
two replicas recovering the same order harmless: the second append conflicts and is dropped.
"""

from __future__ import annotations

import asyncio
import logging

from retailflow.common.handled import handled
from retailflow.orders.service_layer.ports import ConcurrencyConflict, OrderRepository, UpstreamFailed
from retailflow.orders.service_layer.saga import CheckoutSaga

__all__ = ["recover_stale_orders", "run_recovery"]

log = logging.getLogger("retailflow.orders.recovery")


async def recover_stale_orders(orders: OrderRepository, saga: CheckoutSaga, older_than_s: float) -> int:
    """Finish every stale in-flight order; return how many reached a terminal state."""
    finished = 0
    for order_id in orders.stale_in_flight(older_than_s):
        order = orders.get(order_id)
        if order is None or order.status in ("confirmed", "failed"):
            continue
        try:
            if order.status in ("stock_committed", "captured"):
                outcome = await saga.finish(order)
            else:
                outcome = await saga.compensate(
                    order, "checkout_interrupted", "the checkout was interrupted and has been rolled back"
                )
        except ConcurrencyConflict:
            continue  # another replica recovered it first
        except UpstreamFailed as exc:
            log.warning("recovery could not reach an upstream", extra={"order_id": order_id, "error": str(exc)})
            continue
        if outcome.final:
            finished += 1
            log.info("recovered order", extra={"order_id": order_id, "status": order.status})
    return finished


async def run_recovery(orders: OrderRepository, saga: CheckoutSaga, *, older_than_s: float, interval_s: float) -> None:
    while True:
        try:
            await recover_stale_orders(orders, saga, older_than_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            handled("orders.saga_recovery", exc)  # the next pass tries again
        await asyncio.sleep(interval_s)
