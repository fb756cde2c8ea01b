"""The inventory domain's refusals. Each names the value at fault; the HTTP layer maps them to a status."""

from __future__ import annotations

__all__ = [
    "InsufficientStock",
    "InvalidReservation",
    "InventoryError",
    "ReservationClosed",
    "ReservationConflict",
    "ReservationNotFound",
    "StockInconsistent",
    "UnknownSku",
]


class InventoryError(Exception):
    """Base of every inventory refusal."""


class InvalidReservation(InventoryError):
    """A reservation request is malformed (items, quantities, ttl)."""


class UnknownSku(InventoryError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"no stock for sku {sku!r}")
        self.sku = sku


class InsufficientStock(InventoryError):
    def __init__(self, sku: str, wanted: int) -> None:
        super().__init__(f"sku {sku!r} has fewer than {wanted} units available")
        self.sku = sku
        self.wanted = wanted


class ReservationNotFound(InventoryError):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"no reservation {reservation_id!r}")
        self.reservation_id = reservation_id


class ReservationClosed(InventoryError):
    """The reservation already ended in a way that forbids the asked transition."""

    def __init__(self, reservation_id: str, status: str, wanted: str) -> None:
        super().__init__(f"reservation {reservation_id!r} is {status}; it cannot be {wanted}")
        self.reservation_id = reservation_id
        self.status = status


class ReservationConflict(InventoryError):
    """The same reservation id came again with different items."""

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id!r} already exists with different items")
        self.reservation_id = reservation_id


class StockInconsistent(InventoryError):
    """The store lacks units a held reservation accounts for: a broken invariant, never bad input."""
