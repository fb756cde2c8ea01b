"""What callers ask inventory to do, in the imperative."""

from __future__ import annotations

from dataclasses import dataclass

from retailflow.inventory.domain.model import Line

__all__ = ["CommitReservation", "ReleaseReservation", "ReserveStock"]


@dataclass(frozen=True)
class ReserveStock:
    reservation_id: str  # the caller's id (the order id): the same id again is the same reservation
    lines: tuple[Line, ...]
    ttl_s: int


@dataclass(frozen=True)
class CommitReservation:
    reservation_id: str


@dataclass(frozen=True)
class ReleaseReservation:
    reservation_id: str
