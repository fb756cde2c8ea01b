"""The orders package's one exception base and the domain's refusals."""

from __future__ import annotations

__all__ = [
    "CartCheckedOut",
    "CartEmpty",
    "CartError",
    "CartLimitExceeded",
    "CartLineNotFound",
    "InvalidTransition",
    "OrdersError",
]


class OrdersError(Exception):
    """Base of every error the orders package raises on purpose."""


class CartError(OrdersError):
    """A cart change the domain refuses (quantity out of range, unknown line, empty cart)."""


class InvalidTransition(OrdersError):
    """An event that does not follow from the order's current state."""


class CartLimitExceeded(CartError):
    """A quantity or line count beyond the cart's limits."""


class CartLineNotFound(CartError):
    """The cart has no line for that sku."""


class CartCheckedOut(CartError):
    """The cart already became a confirmed order."""


class CartEmpty(CartError):
    """An order was asked for a cart without lines."""
