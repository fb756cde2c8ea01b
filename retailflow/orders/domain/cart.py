"""A shopping cart: lines with a quantity each, priced when the item was added."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retailflow.contracts import MAX_QTY
from retailflow.orders.domain.errors import CartCheckedOut, CartLimitExceeded, CartLineNotFound

__all__ = ["MAX_LINES", "MAX_QTY", "Cart", "CartLine"]

MAX_LINES = 50


@dataclass(frozen=True)
class CartLine:
    sku: str
    qty: int
    price_cents: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "qty": self.qty, "price_cents": self.price_cents, "name": self.name}


@dataclass
class Cart:
    cart_id: str
    lines: dict[str, CartLine] = field(default_factory=dict)
    order_id: str | None = None  # set once an order from this cart is confirmed

    def add(self, sku: str, qty: int, price_cents: int, name: str) -> CartLine:
        """Add `qty` units (1..MAX_QTY) to the line of `sku`; the line's total stays within MAX_QTY."""
        self._check_open()
        if not 1 <= qty <= MAX_QTY:
            raise CartLimitExceeded(f"qty must be between 1 and {MAX_QTY}, got {qty}")
        current = self.lines.get(sku)
        if current is None and len(self.lines) >= MAX_LINES:
            raise CartLimitExceeded(f"a cart holds at most {MAX_LINES} different items")
        total = qty + (current.qty if current else 0)
        if total > MAX_QTY:
            raise CartLimitExceeded(f"a cart holds at most {MAX_QTY} units of {sku}; it would hold {total}")
        line = CartLine(sku, total, price_cents, name)
        self.lines[sku] = line
        return line

    def remove(self, sku: str) -> None:
        self._check_open()
        if sku not in self.lines:
            raise CartLineNotFound(f"cart {self.cart_id} has no item {sku}")
        del self.lines[sku]

    def _check_open(self) -> None:
        if self.order_id:
            raise CartCheckedOut(f"cart {self.cart_id} was already checked out as order {self.order_id}")

    @property
    def total_cents(self) -> int:
        return sum(line.qty * line.price_cents for line in self.lines.values())

    def items(self) -> list[dict[str, Any]]:
        return [self.lines[sku].to_json() for sku in sorted(self.lines)]

    def to_json(self) -> dict[str, Any]:
        return {
            "cart_id": self.cart_id,
            "items": self.items(),
            "total_cents": self.total_cents,
            "order_id": self.order_id,
        }
