"""The event-sourced Order aggregate: its state is `reduce(evolve, events)`, and every decision
is a new event checked against that state before it is appended."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any

from retailflow.orders.domain import events as ev
from retailflow.orders.domain.errors import InvalidTransition

__all__ = ["IN_FLIGHT", "TERMINAL", "Order", "OrderState", "evolve", "fold"]

# Saga steps in order; "stock_committed" and "captured" are past the point of no return
# (stock is sold), so an interrupted saga there rolls forward instead of compensating.
IN_FLIGHT = ("placed", "reserved", "authorized", "stock_committed", "captured")
TERMINAL = ("confirmed", "failed")


@dataclass(frozen=True)
class OrderState:
    order_id: str
    status: str = "new"
    items: tuple[dict[str, Any], ...] = ()
    total_cents: int = 0
    customer_id: str = ""
    idempotency_key: str = ""
    reservation_id: str | None = None
    payment_id: str | None = None
    released: bool = False
    voided: bool = False
    failure: str | None = None
    failed_sku: str | None = None
    version: int = 0  # number of events folded


def evolve(state: OrderState, event: ev.Event) -> OrderState:
    """One step of the fold. Pure: the same events always give the same state."""
    v = state.version + 1
    match event:
        case ev.OrderPlaced():
            return replace(
                state,
                status="placed",
                items=event.items,
                total_cents=event.total_cents,
                customer_id=event.customer_id,
                idempotency_key=event.idempotency_key,
                version=v,
            )
        case ev.StockReserved():
            return replace(state, status="reserved", reservation_id=event.reservation_id, version=v)
        case ev.PaymentAuthorized():
            return replace(state, status="authorized", payment_id=event.payment_id, version=v)
        case ev.StockCommitted():
            return replace(state, status="stock_committed", version=v)
        case ev.PaymentCaptured():
            return replace(state, status="captured", version=v)
        case ev.StockReleased():
            return replace(state, released=True, version=v)
        case ev.PaymentVoided():
            return replace(state, voided=True, version=v)
        case ev.OrderConfirmed():
            return replace(state, status="confirmed", version=v)
        case ev.OrderFailed():
            return replace(state, status="failed", failure=event.reason, failed_sku=event.sku, version=v)
    raise InvalidTransition(f"unknown event {event!r}")


def fold(order_id: str, events: Iterable[ev.Event]) -> OrderState:
    return reduce(evolve, events, OrderState(order_id))


# Which states each event may follow: the saga's legal paths.
_ALLOWED: dict[type[ev.Event], tuple[str, ...]] = {
    ev.OrderPlaced: ("new",),
    ev.StockReserved: ("placed",),
    ev.PaymentAuthorized: ("reserved",),
    ev.StockCommitted: ("authorized",),
    ev.PaymentCaptured: ("stock_committed",),
    ev.OrderConfirmed: ("captured",),
    ev.StockReleased: ("placed", "reserved", "authorized"),
    ev.PaymentVoided: ("placed", "reserved", "authorized", "stock_committed"),
    ev.OrderFailed: ("placed", "reserved", "authorized", "stock_committed"),
}


@dataclass
class Order:
    """The aggregate: current state plus the events decided but not yet stored."""

    state: OrderState
    pending: list[ev.Event] = field(default_factory=list)

    @classmethod
    def rehydrate(cls, order_id: str, history: Sequence[ev.Event]) -> Order:
        return cls(fold(order_id, history))

    @classmethod
    def place(cls, order_id: str, items: Sequence[dict[str, Any]], customer_id: str, idempotency_key: str) -> Order:
        if not items:
            raise InvalidTransition("an order needs at least one item")
        total = sum(int(i["price_cents"]) * int(i["qty"]) for i in items)
        order = cls(OrderState(order_id))
        order._record(ev.OrderPlaced(order_id, tuple(dict(i) for i in items), total, customer_id, idempotency_key))
        return order

    @property
    def order_id(self) -> str:
        return self.state.order_id

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def stored_version(self) -> int:
        """The version the store holds: appends must start right after it."""
        return self.state.version - len(self.pending)

    def _record(self, event: ev.Event) -> None:
        allowed = _ALLOWED[type(event)]
        if self.state.status not in allowed:
            raise InvalidTransition(f"{event.type} cannot follow status {self.state.status!r} of order {self.order_id}")
        self.state = evolve(self.state, event)
        self.pending.append(event)

    def reserve(self, reservation_id: str) -> None:
        self._record(ev.StockReserved(self.order_id, reservation_id))

    def authorize(self, payment_id: str) -> None:
        self._record(ev.PaymentAuthorized(self.order_id, payment_id, self.state.total_cents))

    def commit_stock(self) -> None:
        self._record(ev.StockCommitted(self.order_id, self.state.reservation_id or self.order_id))

    def capture(self) -> None:
        self._record(ev.PaymentCaptured(self.order_id, self.state.payment_id or self.order_id))

    def confirm(self) -> None:
        self._record(ev.OrderConfirmed(self.order_id, self.state.total_cents))

    def release_stock(self, reservation_id: str) -> None:
        if not self.state.released:
            self._record(ev.StockReleased(self.order_id, reservation_id))

    def void_payment(self, payment_id: str) -> None:
        if not self.state.voided:
            self._record(ev.PaymentVoided(self.order_id, payment_id))

    def fail(self, reason: str, detail: str = "", sku: str | None = None) -> None:
        self._record(ev.OrderFailed(self.order_id, reason, detail, sku))
