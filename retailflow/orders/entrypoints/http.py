"""The orders service's HTTP face: carts, idempotent placement and the order's event log."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.db import DatabaseError
from retailflow.common.errors import BadRequest, NotFound, ShopHTTPError
from retailflow.common.web import JSON, json_body, require
from retailflow.contracts import KEY_LENGTH
from retailflow.orders.adapters.event_store import SqlOrderRepository
from retailflow.orders.domain import commands
from retailflow.orders.domain.cart import MAX_QTY
from retailflow.orders.domain.errors import (
    CartCheckedOut,
    CartEmpty,
    CartLimitExceeded,
    CartLineNotFound,
    InvalidTransition,
)
from retailflow.orders.service_layer import handlers
from retailflow.orders.service_layer.ports import CartRepository, Catalog, Outcome, UpstreamFailed

__all__ = ["OrdersApp", "routes"]

ID_LENGTH = 64
Endpoint = Callable[[Request], Awaitable[Response]]

# Domain refusals → (status, code). Anything else that escapes is a bug and shows as a 500.
_ERRORS: dict[type[Exception], tuple[int, str]] = {
    CartEmpty: (422, "empty_cart"),
    CartLimitExceeded: (422, "invalid_quantity"),
    CartLineNotFound: (404, "not_in_cart"),
    CartCheckedOut: (409, "cart_checked_out"),
    handlers.CartNotFound: (404, "cart_not_found"),
    handlers.UnknownSku: (404, "unknown_sku"),
    handlers.KeyReused: (422, "idempotency_key_reused"),
    InvalidTransition: (409, "invalid_transition"),
    UpstreamFailed: (503, "upstream_unavailable"),
    DatabaseError: (503, "store_unavailable"),
}


def _translated(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ShopHTTPError:
            raise
        except tuple(_ERRORS) as exc:
            status, code = next(v for k, v in _ERRORS.items() if isinstance(exc, k))
            raise ShopHTTPError(str(exc), code=code, status=status) from exc

    return wrapper


def _path_id(request: Request, name: str, what: str) -> str:
    value: str = request.path_params[name]
    if not value or len(value) > ID_LENGTH:
        raise NotFound(f"no {what} {value[:ID_LENGTH]!r}")
    return value


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class OrdersApp:
    orders: SqlOrderRepository
    carts: CartRepository
    catalog: Catalog
    checkout: handlers.Checkout
    observe: Callable[[Outcome], None] = lambda outcome: None  # metrics hook, set by bootstrap


def routes(app: OrdersApp) -> list[Route]:
    async def create_cart(request: Request) -> Response:
        """Create an empty cart.
        ---
        summary: 'Create an empty cart'
        responses:
          201:
            description: the new cart, with its cart_id
        """
        cart = await handlers.create_cart(app.carts)
        return JSON(cart.to_json(), status_code=201)

    async def get_cart(request: Request) -> Response:
        """A cart with its lines and total.
        ---
        summary: 'A cart with its lines and total'
        parameters:
          - {name: cart_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: the cart
          404:
            description: no such cart
        """
        cart_id = _path_id(request, "cart_id", "cart")
        cart = await app.carts.get(cart_id)
        if cart is None:
            raise NotFound(f"no cart {cart_id!r}", code="cart_not_found")
        return JSON(cart.to_json())

    async def add_item(request: Request) -> Response:
        """Add units of a product to a cart, priced by the catalog now.
        ---
        summary: 'Add units of a product to a cart, priced by the catalog now'
        parameters:
          - {name: cart_id, in: path, required: true, schema: {type: string}}
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [sku, qty]
                properties:
                  sku: {type: string, maxLength: 64}
                  qty: {type: integer, minimum: 1, maximum: 100}
        responses:
          200:
            description: the cart after the change
          404:
            description: no such cart or sku
          422:
            description: a field is missing or out of range
        """
        cart_id = _path_id(request, "cart_id", "cart")
        body = await json_body(request)
        sku = require(body, "sku", str, max_length=ID_LENGTH)
        qty = require(body, "qty", int, minimum=1, maximum=MAX_QTY)
        cart = await handlers.add_item(commands.AddCartItem(cart_id, sku, qty), app.carts, app.catalog)
        return JSON(cart.to_json())

    async def remove_item(request: Request) -> Response:
        """Remove a product's line from a cart.
        ---
        summary: 'Remove a product''s line from a cart'
        parameters:
          - {name: cart_id, in: path, required: true, schema: {type: string}}
          - {name: sku, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: the cart after the change
          404:
            description: no such cart, or the cart has no such line
        """
        cart_id = _path_id(request, "cart_id", "cart")
        sku = _path_id(request, "sku", "item")
        cart = await handlers.remove_item(commands.RemoveCartItem(cart_id, sku), app.carts)
        return JSON(cart.to_json())

    async def place_order(request: Request) -> Response:
        """Place an order from a cart: reserve stock, authorize and capture payment, confirm.
        The same Idempotency-Key always gets the first request's answer and order id.
        ---
        summary: 'Place an order from a cart: reserve stock, authorize and capture payment, confirm'
        parameters:
          - {name: Idempotency-Key, in: header, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [cart_id]
                properties:
                  cart_id: {type: string, maxLength: 64}
                  payment_token: {type: string, maxLength: 200}
                  customer_id: {type: string, maxLength: 200}
        responses:
          201:
            description: confirmed; {order_id, status, items, total_cents}
          400:
            description: no Idempotency-Key, or a malformed body
          402:
            description: the payment was declined
          404:
            description: no such cart
          409:
            description: sold out (with the sku), or the same key is still being processed
          422:
            description: an empty cart, a bad field, or a key reused for a different request
          503:
            description: an upstream failed; everything reserved was released
        """
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise BadRequest("the Idempotency-Key header is required", code="missing_idempotency_key")
        if len(key) > KEY_LENGTH:
            raise BadRequest(f"the Idempotency-Key header is longer than {KEY_LENGTH}", code="bad_idempotency_key")
        body = await json_body(request)
        cmd = commands.PlaceOrder(
            cart_id=require(body, "cart_id", str, max_length=ID_LENGTH),
            idempotency_key=key,
            customer_id=require(body, "customer_id", str, default="guest"),
            payment_token=require(body, "payment_token", str, default="tok_visa"),
        )
        outcome = await app.checkout.place(cmd)
        app.observe(outcome)
        return JSON(outcome.body, status_code=outcome.status)

    async def get_order(request: Request) -> Response:
        """An order as the projection holds it.
        ---
        summary: 'An order as the projection holds it'
        parameters:
          - {name: order_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: '{order_id, status, items, total_cents, created_at}'
          404:
            description: no such order
        """
        order_id = _path_id(request, "order_id", "order")
        row = app.orders.projection(order_id)
        if row is None:
            raise NotFound(f"no order {order_id!r}", code="order_not_found")
        return JSON(
            {
                "order_id": row["order_id"],
                "status": row["status"],
                "items": row["items"],
                "total_cents": int(row["total_cents"]),
                "created_at": _iso(float(row["created_at"])),
                "updated_at": _iso(float(row["updated_at"])),
                "failure": row["failure"],
                "version": int(row["version"]),
            }
        )

    async def order_events(request: Request) -> Response:
        """The order's event log, oldest first.
        ---
        summary: 'The order''s event log, oldest first'
        parameters:
          - {name: order_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: '[{seq, type, at, data}]'
          404:
            description: no such order
        """
        order_id = _path_id(request, "order_id", "order")
        events = app.orders.events(order_id)
        if not events:
            raise NotFound(f"no order {order_id!r}", code="order_not_found")
        return JSON(events)

    endpoints: list[tuple[str, Endpoint, str]] = [
        ("/carts", create_cart, "POST"),
        ("/carts/{cart_id}", get_cart, "GET"),
        ("/carts/{cart_id}/items", add_item, "POST"),
        ("/carts/{cart_id}/items/{sku}", remove_item, "DELETE"),
        ("/orders", place_order, "POST"),
        ("/orders/{order_id}", get_order, "GET"),
        ("/orders/{order_id}/events", order_events, "GET"),
    ]
    return [Route(path, _translated(fn), methods=[method]) for path, fn, method in endpoints]
