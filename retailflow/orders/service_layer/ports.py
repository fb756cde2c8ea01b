"""The interfaces the use cases need; adapters implement them and tests fake them by subclassing."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from retailflow.orders.domain.cart import Cart
from retailflow.orders.domain.errors import OrdersError
from retailflow.orders.domain.model import Order

__all__ = [
    "CartRepository",
    "Catalog",
    "ConcurrencyConflict",
    "Inventory",
    "KeyClaim",
    "OrderRepository",
    "Outcome",
    "Payments",
    "PricedItem",
    "Reservation",
    "StockAlreadyCommitted",
    "UpstreamFailed",
]


class UpstreamFailed(OrdersError):
    """Another service did not give a usable answer (down, timed out, 5xx)."""


class StockAlreadyCommitted(OrdersError):
    """Inventory refused a release because the reservation was committed: those units are sold."""


class ConcurrencyConflict(OrdersError):
    """Someone else appended to the order's log first (a recovery took over, a duplicate raced)."""


@dataclass(frozen=True)
class Outcome:
    """The answer to a placement, stored with the idempotency key once it is final."""

    status: int
    body: dict[str, Any]
    final: bool = True


@dataclass(frozen=True)
class Reservation:
    held: bool
    sku: str | None = None  # the first sku short of stock when not held


@dataclass(frozen=True)
class PricedItem:
    sku: str
    price_cents: int
    name: str


@dataclass(frozen=True)
class KeyClaim:
    """What the idempotency table says about a key."""

    order_id: str
    request_hash: str
    outcome: Outcome | None  # None while the first request is still in flight


class Inventory(abc.ABC):
    @abc.abstractmethod
    async def reserve(self, reservation_id: str, items: Sequence[dict[str, Any]], ttl_s: int) -> Reservation: ...

    @abc.abstractmethod
    async def commit(self, reservation_id: str) -> bool:
        """True when committed (or already committed); False when the reservation is gone."""

    @abc.abstractmethod
    async def release(self, reservation_id: str) -> None:
        """Free the held units; raises StockAlreadyCommitted when inventory had committed them."""


class Payments(abc.ABC):
    @abc.abstractmethod
    async def authorize(self, payment_id: str, order_id: str, amount_cents: int, token: str) -> bool:
        """True when authorized, False when declined."""

    @abc.abstractmethod
    async def capture(self, payment_id: str) -> None: ...

    @abc.abstractmethod
    async def void(self, payment_id: str) -> None: ...


class Catalog(abc.ABC):
    @abc.abstractmethod
    async def price(self, sku: str) -> PricedItem | None:
        """The product's current price and name, or None when the sku does not exist."""


class CartRepository(abc.ABC):
    @abc.abstractmethod
    async def create(self, cart: Cart) -> None: ...

    @abc.abstractmethod
    async def get(self, cart_id: str) -> Cart | None: ...

    @abc.abstractmethod
    async def save(self, cart: Cart) -> None: ...


class OrderRepository(abc.ABC):
    """The event store with its projection, outbox and idempotency keys (one transaction each)."""

    @abc.abstractmethod
    def get(self, order_id: str) -> Order | None: ...

    @abc.abstractmethod
    def add(self, order: Order, *, idempotency_key: str, request_hash: str) -> None:
        """Store a new order's first events and claim its key; ConcurrencyConflict if the key is taken."""

    @abc.abstractmethod
    def save(self, order: Order, outcome: Outcome | None = None) -> None:
        """Append the order's pending events; with a final outcome, answer its idempotency key."""

    @abc.abstractmethod
    def claim(self, idempotency_key: str) -> KeyClaim | None: ...

    @abc.abstractmethod
    def stale_in_flight(self, older_than_s: float, limit: int = 50) -> list[str]: ...
