"""What the orders tests expect at every level (aggregate, saga, whole shop) of an order that went
through the whole checkout saga: one history, so that the levels cannot drift apart."""

from __future__ import annotations

__all__ = ["CONFIRMED_HISTORY"]

CONFIRMED_HISTORY = [
    "OrderPlaced",
    "StockReserved",
    "PaymentAuthorized",
    "StockCommitted",
    "PaymentCaptured",
    "OrderConfirmed",
]
