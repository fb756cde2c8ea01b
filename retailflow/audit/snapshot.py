"""What the audit reads from the stores, as plain data: the invariants are functions of this.

The store readers (`stores.py`) fill it; the unit tests can build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAPTURED", "STOCK_SOLD", "Capture", "Order", "Reservation", "ShopSnapshot", "StockRow"]

# The orders saga runs reserve -> authorize -> commit stock -> capture -> confirm; past the
# commit it rolls forward, never back. So an order in these states has sold its units, and one
# in CAPTURED has been paid for, even while it is still in flight (orders/domain/model.py).
STOCK_SOLD = ("stock_committed", "captured", "confirmed")
CAPTURED = ("captured", "confirmed")


@dataclass(frozen=True)
class StockRow:
    sku: str
    available: int
    reserved: int
    sold: int
    initial: int | None = None  # inventory knows the initial stock; the legacy store does not
    version: int | None = None


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    sku: str
    qty: int


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    total_cents: int
    items: tuple[tuple[str, int], ...] = ()  # (sku, qty)
    idempotency_key: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"

    @property
    def in_flight(self) -> bool:
        return self.status not in ("confirmed", "failed")


@dataclass(frozen=True)
class Capture:
    payment_id: str
    order_id: str
    amount_cents: int
    captures: int = 1  # how many times the store recorded this payment captured


@dataclass
class ShopSnapshot:
    stock: list[StockRow]
    orders: list[Order]
    confirmations: dict[str, int]  # order_id -> number of confirmations recorded (events)
    captures: list[Capture]
    legacy: list[StockRow]
    projection_mismatches: list[dict[str, object]]  # orders whose projection differs from its replay
    reservations: list[Reservation] | None = None  # open (held) reservations; None when unknown
    # Each SKU's sold units as inventory held them before the orders were read (`stock` is read
    # after them); None when the reader looked once. Under load a sale can complete between the
    # two stores' reads: inventory commits first, the order records it a moment later, so the
    # units bought by orders can only lie between the two looks (invariants.stock_conservation).
    sold_before: dict[str, int] | None = None
