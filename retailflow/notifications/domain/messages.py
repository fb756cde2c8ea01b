"""What the customer is told about an order, from the event that settled it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NOTIFIED_EVENTS", "Notification", "message_for"]

NOTIFIED_EVENTS = ("OrderConfirmed", "OrderFailed")

_REASONS = {
    "sold_out": "an item sold out before we could reserve it",
    "payment_declined": "the payment was declined",
}


@dataclass(frozen=True)
class Notification:
    event_id: str
    order_id: str
    kind: str  # order_confirmed, order_failed
    message: str


def message_for(event: dict[str, Any]) -> Notification | None:
    """The notification an order event calls for, or None when it calls for none."""
    kind = event.get("type")
    if kind not in NOTIFIED_EVENTS:
        return None
    order_id = str(event["order_id"])
    data = event.get("data") or {}
    if kind == "OrderConfirmed":
        total = int(data.get("total_cents", 0))
        text = f"Your order {order_id} is confirmed: ${total // 100}.{total % 100:02d} will be charged."
        return Notification(str(event["event_id"]), order_id, "order_confirmed", text)
    reason = str(data.get("reason", "unknown"))
    text = f"Your order {order_id} could not be completed: {_REASONS.get(reason, reason.replace('_', ' '))}."
    return Notification(str(event["event_id"]), order_id, "order_failed", text)
