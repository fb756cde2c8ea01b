"""Stock and reservations, pure: the rules a store must keep, without the store.

Stock moves between three buckets: `available` → `reserved` (a hold), `reserved` → `sold`
(commit) and `reserved` → `available` (release or expiry). `initial` never changes, so
`initial == available + reserved + sold` is the conservation law the audit checks, and no
bucket may go negative (no oversell). Every change bumps `version`, which the legacy store
uses to keep the newest write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from retailflow.contracts import MAX_QTY
from retailflow.inventory.domain import events
from retailflow.inventory.domain.errors import InsufficientStock, InvalidReservation, ReservationClosed

__all__ = [
    "COMMIT",
    "MAX_LINES",
    "MAX_QTY",
    "MAX_TTL_S",
    "RELEASE",
    "RESERVE",
    "Line",
    "Move",
    "Reservation",
    "Status",
    "Stock",
    "is_sku",
    "parse_items",
    "validate_reservation_id",
    "validate_ttl",
]

MAX_LINES = 50
MAX_TTL_S = 86_400
SKU_LENGTH = 64
_RESERVATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


@dataclass(frozen=True)
class Move:
    """Units leave `source` and enter `target` (bucket names of `Stock`)."""

    name: str
    source: str
    target: str


RESERVE = Move("reserve", "available", "reserved")
COMMIT = Move("commit", "reserved", "sold")
RELEASE = Move("release", "reserved", "available")


@dataclass(frozen=True)
class Stock:
    sku: str
    initial: int
    available: int
    reserved: int
    sold: int
    version: int = 0

    def apply(self, move: Move, qty: int) -> Stock:
        """The stock after moving `qty` units; refused when the source bucket holds fewer."""
        have = getattr(self, move.source)
        if qty < 1 or have < qty:
            raise InsufficientStock(self.sku, qty)
        return replace(
            self, **{move.source: have - qty, move.target: getattr(self, move.target) + qty}, version=self.version + 1
        )

    @property
    def conserved(self) -> bool:
        buckets = (self.available, self.reserved, self.sold)
        return min(buckets) >= 0 and sum(buckets) == self.initial

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "available": self.available,
            "reserved": self.reserved,
            "sold": self.sold,
            "initial": self.initial,
            "version": self.version,
        }


@dataclass(frozen=True, order=True)
class Line:
    sku: str
    qty: int


class Status:
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    REJECTED = "rejected"  # never held: a line had too little stock (kept so a retry gets the same answer)


def is_sku(value: object) -> TypeGuard[str]:
    """A string a store can hold as a key (PostgreSQL refuses NUL bytes, for one)."""
    return isinstance(value, str) and 1 <= len(value) <= SKU_LENGTH and value.isprintable()


def validate_reservation_id(value: object) -> str:
    if not isinstance(value, str) or not _RESERVATION_ID.fullmatch(value):
        raise InvalidReservation("'reservation_id' must be 1-100 characters of letters, digits, '.', '_', ':' or '-'")
    return value


def validate_ttl(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL_S:
        raise InvalidReservation(f"'ttl_s' must be a whole number of seconds from 1 to {MAX_TTL_S}")
    return value


def parse_items(items: object) -> tuple[Line, ...]:
    """Validate `[{"sku", "qty"}, ...]`; lines come back sorted by sku, the order stores lock rows in."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LINES:
        raise InvalidReservation(f"'items' must be a list of 1 to {MAX_LINES} {{sku, qty}} objects")
    lines: dict[str, Line] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidReservation(f"items[{n}] must be an object with 'sku' and 'qty'")
        sku, qty = item.get("sku"), item.get("qty")
        if not is_sku(sku):
            raise InvalidReservation(f"items[{n}].sku must be a string of 1 to {SKU_LENGTH} printable characters")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
            raise InvalidReservation(f"items[{n}].qty must be a whole number from 1 to {MAX_QTY}")
        if sku in lines:
            raise InvalidReservation(f"items[{n}].sku {sku!r} appears twice; send one line per sku")
        lines[sku] = Line(sku, qty)
    return tuple(sorted(lines.values()))


@dataclass(frozen=True)
class Reservation:
    id: str
    lines: tuple[Line, ...]
    status: str
    ttl_s: int
    created_at: float
    expires_at: float
    rejected_sku: str = ""  # the line that lacked stock, when status is rejected

    @classmethod
    def hold(cls, reservation_id: str, lines: tuple[Line, ...], ttl_s: int, now: float) -> Reservation:
        return cls(reservation_id, tuple(sorted(lines)), Status.HELD, ttl_s, now, now + ttl_s)

    def rejected(self, sku: str) -> Reservation:
        return replace(self, status=Status.REJECTED, rejected_sku=sku)

    def same_request(self, lines: tuple[Line, ...]) -> bool:
        return self.lines == tuple(sorted(lines))

    def is_stale(self, now: float) -> bool:
        return self.status == Status.HELD and now >= self.expires_at

    @property
    def pairs(self) -> tuple[tuple[str, int], ...]:
        return tuple((line.sku, line.qty) for line in self.lines)

    def reserved_event(self) -> events.StockReserved:
        return events.StockReserved(self.id, self.pairs, self.expires_at)

    # Each transition returns the new reservation and its event, or no event when the
    # reservation already is where the caller wants it (idempotent retries).

    def commit(self) -> tuple[Reservation, events.Event | None]:
        if self.status == Status.COMMITTED:
            return self, None
        if self.status != Status.HELD:
            raise ReservationClosed(self.id, self.status, "committed")
        return replace(self, status=Status.COMMITTED), events.ReservationCommitted(self.id, self.pairs)

    def release(self) -> tuple[Reservation, events.Event | None]:
        if self.status in (Status.RELEASED, Status.EXPIRED, Status.REJECTED):
            return self, None
        if self.status != Status.HELD:
            raise ReservationClosed(self.id, self.status, "released")
        return replace(self, status=Status.RELEASED), events.ReservationReleased(self.id, self.pairs)

    def expire(self, now: float) -> tuple[Reservation, events.Event | None]:
        if not self.is_stale(now):
            return self, None
        return replace(self, status=Status.EXPIRED), events.ReservationExpired(self.id, self.pairs)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "reservation_id": self.id,
            "status": self.status,
            "items": [{"sku": line.sku, "qty": line.qty} for line in self.lines],
            "ttl_s": self.ttl_s,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }
        if self.rejected_sku:
            body["rejected_sku"] = self.rejected_sku
        return body
