"""Events: what happened to an order (past tense). The order's state is a fold over them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "Event",
    "OrderConfirmed",
    "OrderFailed",
    "OrderPlaced",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentVoided",
    "StockCommitted",
    "StockReleased",
    "StockReserved",
    "event_from_payload",
]


@dataclass(frozen=True)
class Event:
    order_id: str

    @property
    def type(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OrderPlaced(Event):
    items: tuple[dict[str, Any], ...]  # {"sku", "qty", "price_cents", "name"}
    total_cents: int
    customer_id: str
    idempotency_key: str


@dataclass(frozen=True)
class StockReserved(Event):
    reservation_id: str


@dataclass(frozen=True)
class PaymentAuthorized(Event):
    payment_id: str
    amount_cents: int


@dataclass(frozen=True)
class StockCommitted(Event):
    reservation_id: str


@dataclass(frozen=True)
class PaymentCaptured(Event):
    payment_id: str


@dataclass(frozen=True)
class StockReleased(Event):
    reservation_id: str


@dataclass(frozen=True)
class PaymentVoided(Event):
    payment_id: str


@dataclass(frozen=True)
class OrderConfirmed(Event):
    total_cents: int


@dataclass(frozen=True)
class OrderFailed(Event):
    reason: str  # sold_out, payment_declined, inventory_unavailable, interrupted, ...
    detail: str = ""
    sku: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        OrderPlaced,
        StockReserved,
        PaymentAuthorized,
        StockCommitted,
        PaymentCaptured,
        StockReleased,
        PaymentVoided,
        OrderConfirmed,
        OrderFailed,
    )
}


def event_from_payload(type_name: str, payload: dict[str, Any]) -> Event:
    """Rebuild a stored event; unknown keys are ignored so old logs survive new fields."""
    cls = EVENT_TYPES[type_name]
    names = {f.name for f in fields(cls)}
    data = {k: v for k, v in payload.items() if k in names}
    if "items" in data:
        data["items"] = tuple(data["items"])
    return cls(**data)
