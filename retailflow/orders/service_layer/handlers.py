"""Use cases behind the HTTP routes: carts, and idempotent order placement."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

from retailflow.orders.domain import commands
from retailflow.orders.domain.cart import MAX_QTY, Cart
from retailflow.orders.domain.errors import CartCheckedOut, CartEmpty, CartLimitExceeded, OrdersError
from retailflow.orders.domain.model import Order
from retailflow.orders.service_layer.ports import (
    CartRepository,
    Catalog,
    ConcurrencyConflict,
    KeyClaim,
    OrderRepository,
    Outcome,
)
from retailflow.orders.service_layer.saga import CheckoutSaga

__all__ = ["CartNotFound", "Checkout", "KeyReused", "UnknownSku", "add_item", "create_cart", "remove_item"]


class CartNotFound(OrdersError):
    """No cart with that id."""


class UnknownSku(OrdersError):
    """The catalog does not know the sku."""


class KeyReused(OrdersError):
    """The idempotency key was first used for a different request."""


async def create_cart(carts: CartRepository) -> Cart:
    cart = Cart(uuid.uuid4().hex)
    await carts.create(cart)
    return cart


async def _cart(carts: CartRepository, cart_id: str) -> Cart:
    cart = await carts.get(cart_id)
    if cart is None:
        raise CartNotFound(f"no cart {cart_id[:64]!r}")
    return cart


async def add_item(cmd: commands.AddCartItem, carts: CartRepository, catalog: Catalog) -> Cart:
    cart = await _cart(carts, cmd.cart_id)
    if not 1 <= cmd.qty <= MAX_QTY:  # before asking the catalog: bad input costs no hop
        raise CartLimitExceeded(f"qty must be between 1 and {MAX_QTY}, got {cmd.qty}")
    product = await catalog.price(cmd.sku)
    if product is None:
        raise UnknownSku(f"the catalog has no sku {cmd.sku[:64]!r}")
    cart.add(cmd.sku, cmd.qty, product.price_cents, product.name)
    await carts.save(cart)
    return cart


async def remove_item(cmd: commands.RemoveCartItem, carts: CartRepository) -> Cart:
    cart = await _cart(carts, cmd.cart_id)
    cart.remove(cmd.sku)
    await carts.save(cart)
    return cart


def request_hash(cmd: commands.PlaceOrder) -> str:
    """What makes two placements 'the same request' besides the key."""
    raw = f"{cmd.cart_id}\x00{cmd.customer_id}\x00{cmd.payment_token}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


class Checkout:
    """Idempotent placement: one key → one order and one final answer, however often it is sent."""

    def __init__(
        self, orders: OrderRepository, carts: CartRepository, saga: CheckoutSaga, *, duplicate_wait_s: float = 8.0
    ) -> None:
        self.orders = orders
        self.carts = carts
        self.saga = saga
        self.duplicate_wait_s = duplicate_wait_s

    async def place(self, cmd: commands.PlaceOrder) -> Outcome:
        digest = request_hash(cmd)
        claim = self.orders.claim(cmd.idempotency_key)
        if claim is not None:
            return await self._replay(cmd.idempotency_key, claim, digest)
        cart = await _cart(self.carts, cmd.cart_id)
        if cart.order_id:
            raise CartCheckedOut(f"cart {cart.cart_id} was already checked out as order {cart.order_id}")
        if not cart.lines:
            raise CartEmpty(f"cart {cart.cart_id} is empty; add an item before placing an order")
        order = Order.place(uuid.uuid4().hex, cart.items(), cmd.customer_id, cmd.idempotency_key)
        try:
            self.orders.add(order, idempotency_key=cmd.idempotency_key, request_hash=digest)
        except ConcurrencyConflict:  # a concurrent duplicate claimed the key first
            claim = self.orders.claim(cmd.idempotency_key)
            assert claim is not None
            return await self._replay(cmd.idempotency_key, claim, digest)
        outcome = await self.saga.run(order, cmd.payment_token)
        if outcome.status == 201:
            cart.order_id = order.order_id
            await self.carts.save(cart)
        return outcome

    async def _replay(self, key: str, claim: KeyClaim, digest: str) -> Outcome:
        if claim.request_hash != digest:
            raise KeyReused("this Idempotency-Key was already used for a different cart, customer or payment")
        deadline = time.monotonic() + self.duplicate_wait_s
        while claim.outcome is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the first request is still in its saga
            claim = self.orders.claim(key) or claim
        if claim.outcome is None:
            return Outcome(
                409,
                {
                    "error": "in_progress",
                    "order_id": claim.order_id,
                    "detail": "a request with this Idempotency-Key is still being processed",
                },
                final=False,
            )
        return claim.outcome
