"""Commands: what a caller asks the orders service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AddCartItem", "PlaceOrder", "RemoveCartItem"]


@dataclass(frozen=True)
class AddCartItem:
    cart_id: str
    sku: str
    qty: int


@dataclass(frozen=True)
class RemoveCartItem:
    cart_id: str
    sku: str


@dataclass(frozen=True)
class PlaceOrder:
    cart_id: str
    idempotency_key: str
    customer_id: str
    payment_token: str
