"""What happened to stock, in the past tense; published through the transactional outbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Event", "ReservationCommitted", "ReservationExpired", "ReservationReleased", "StockReserved"]


@dataclass(frozen=True)
class Event:
    reservation_id: str
    items: tuple[tuple[str, int], ...]  # (sku, qty)

    def to_json(self) -> dict[str, object]:
        body = asdict(self)
        body["items"] = [{"sku": sku, "qty": qty} for sku, qty in self.items]
        return {"type": type(self).__name__, **body}


@dataclass(frozen=True)
class StockReserved(Event):
    expires_at: float


@dataclass(frozen=True)
class ReservationCommitted(Event):
    pass


@dataclass(frozen=True)
class ReservationReleased(Event):
    pass


@dataclass(frozen=True)
class ReservationExpired(Event):
    pass
