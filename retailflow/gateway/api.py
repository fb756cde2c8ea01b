"""The public JSON API (docs/contracts.md section 2): routed to the services, composed where needed.

Business answers of the services (404, 409 sold_out, 402 payment_declined, ...) pass through
unchanged; the gateway adds only what is its own: validation, breakers, the product + stock view.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.errors import BadRequest, ServiceUnavailable
from retailflow.common.upstream import UpstreamResponse
from retailflow.common.web import JSON, json_body
from retailflow.contracts import KEY_LENGTH
from retailflow.gateway.breaker import CircuitBreaker
from retailflow.gateway.queries import listing_query, path_id, search_query, to_query_string
from retailflow.gateway.shop import ShopClient

__all__ = ["api_routes", "passthrough"]


def passthrough(response: UpstreamResponse) -> Response:
    body = response.body
    if isinstance(body, bytes | bytearray):  # not JSON: an upstream fault, never the client's
        return JSON(
            {"error": "bad_upstream_answer", "detail": f"an upstream answered {response.status} without JSON"},
            status_code=502,
        )
    return JSON(body, status_code=response.status)


async def _optional_body(request: Request) -> dict[str, Any] | None:
    return await json_body(request) if await request.body() else None


def api_routes(shop: ShopClient, breakers: dict[str, CircuitBreaker]) -> list[Route]:
    async def categories(request: Request) -> Response:
        """The category tree, flat.
        ---
        summary: list categories
        responses:
          200:
            description: '[{"slug", "name", "parent", "product_count"}]'
        """
        return passthrough(await shop.catalog_get("/categories"))

    async def products(request: Request) -> Response:
        """A page of products, optionally of one category.
        ---
        summary: list products
        parameters:
          - {name: category, in: query, schema: {type: string, maxLength: 64}}
          - {name: page, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
          - {name: per_page, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
          - {name: sort, in: query, schema: {type: string, enum: [featured, price_asc, price_desc, name]}}
        responses:
          200:
            description: '{"items", "page", "per_page", "total"}'
          400:
            description: a bad query parameter
        """
        return passthrough(await shop.catalog_get(f"/products?{to_query_string(listing_query(request))}"))

    async def product(request: Request) -> Response:
        """One product with its available stock.
        ---
        summary: product detail with stock
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: 'the product and "stock": {"available": int}'
          404:
            description: no such product
          503:
            description: catalog or inventory is unavailable
        """
        product, stock = await shop.product_and_stock(path_id(request, "sku", "product"))
        if not product.ok:
            return passthrough(product)
        if isinstance(stock, BaseException):
            raise stock
        if not stock.ok or not isinstance(stock.body, dict):
            if stock.status == 404:  # the catalog knows it, inventory not: nothing to sell
                return JSON({**product.body, "stock": {"available": 0}})
            raise ServiceUnavailable(
                f"inventory answered {stock.status} for the product's stock", code="inventory_unavailable"
            )
        return JSON({**product.body, "stock": {"available": stock.body.get("available", 0)}})

    async def search(request: Request) -> Response:
        """Full-text search with category and price filters (integer cents), sorting and pagination.
        ---
        summary: search products
        parameters:
          - {name: q, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
          - {name: category, in: query, schema: {type: string, maxLength: 64}}
          - {name: min_price, in: query, schema: {type: integer, minimum: 0, maximum: 1000000000}}
          - {name: max_price, in: query, schema: {type: integer, minimum: 0, maximum: 1000000000}}
          - {name: sort, in: query, schema: {type: string, enum: [relevance, price_asc, price_desc, name]}}
          - {name: page, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
          - {name: per_page, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        responses:
          200:
            description: '{"items", "total", "page", "per_page", "query"}'
          400:
            description: a bad query parameter
        """
        return passthrough(await shop.catalog_get(f"/search?{to_query_string(search_query(request))}"))

    async def doorbusters(request: Request) -> Response:
        """The limited-stock doorbuster products.
        ---
        summary: list doorbusters
        responses:
          200:
            description: '[product]'
        """
        return passthrough(await shop.catalog_get("/doorbusters"))

    async def create_cart(request: Request) -> Response:
        """Start a cart.
        ---
        summary: create a cart
        responses:
          201:
            description: '{"cart_id"}'
          400:
            description: a body that is not a JSON object
        """
        return passthrough(await shop.new_cart(await _optional_body(request)))

    async def get_cart(request: Request) -> Response:
        """A cart with its items and total.
        ---
        summary: show a cart
        parameters:
          - {name: cart_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: '{"cart_id", "items": [{"sku", "qty", "price_cents", "name"}], "total_cents"}'
          404:
            description: no such cart
        """
        return passthrough(await shop.cart(path_id(request, "cart_id", "cart")))

    async def add_item(request: Request) -> Response:
        """Put a product into a cart.
        ---
        summary: add an item to a cart
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
                  sku: {type: string}
                  qty: {type: integer, minimum: 1}
        responses:
          200:
            description: the cart
          400:
            description: malformed JSON
          404:
            description: no such cart or product
          422:
            description: a bad sku or quantity
        """
        cart_id = path_id(request, "cart_id", "cart")
        return passthrough(await shop.add_item(cart_id, await json_body(request)))

    async def remove_item(request: Request) -> Response:
        """Take a product out of a cart.
        ---
        summary: remove an item from a cart
        parameters:
          - {name: cart_id, in: path, required: true, schema: {type: string}}
          - {name: sku, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: the cart
          404:
            description: no such cart
        """
        return passthrough(await shop.remove_item(path_id(request, "cart_id", "cart"), path_id(request, "sku", "sku")))

    async def place_order(request: Request) -> Response:
        """Place the order of a cart; the same Idempotency-Key again answers the first answer.
        ---
        summary: place an order
        parameters:
          - {name: Idempotency-Key, in: header, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [cart_id, payment_token]
                properties:
                  cart_id: {type: string}
                  payment_token: {type: string}
                  customer_id: {type: string}
        responses:
          201:
            description: '{"order_id", "status": "confirmed", "items", "total_cents"}'
          400:
            description: no Idempotency-Key, or malformed JSON
          402:
            description: '{"error": "payment_declined"}'
          404:
            description: no such cart
          409:
            description: '{"error": "sold_out", "sku"}'
          422:
            description: a missing or bad field
        """
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise BadRequest("placing an order needs an Idempotency-Key header", code="missing_idempotency_key")
        if len(key) > KEY_LENGTH:
            raise BadRequest(
                f"the Idempotency-Key header is longer than {KEY_LENGTH} characters", code="bad_idempotency_key"
            )
        return passthrough(await shop.place_order(key, await json_body(request)))

    async def get_order(request: Request) -> Response:
        """An order's state.
        ---
        summary: show an order
        parameters:
          - {name: order_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: '{"order_id", "status", "items", "total_cents", "created_at"}'
          404:
            description: no such order
        """
        return passthrough(await shop.order(path_id(request, "order_id", "order")))

    async def breaker_states(request: Request) -> Response:
        """The circuit breaker of every upstream.
        ---
        summary: circuit breaker states
        responses:
          200:
            description: '{upstream: {"state": "closed|open|half_open", "consecutive_failures", ...}}'
        """
        return JSON({name: breaker.snapshot() for name, breaker in breakers.items()})

    return [
        Route("/api/categories", categories, methods=["GET"]),
        Route("/api/products", products, methods=["GET"]),
        Route("/api/products/{sku}", product, methods=["GET"]),
        Route("/api/search", search, methods=["GET"]),
        Route("/api/doorbusters", doorbusters, methods=["GET"]),
        Route("/api/carts", create_cart, methods=["POST"]),
        Route("/api/carts/{cart_id}", get_cart, methods=["GET"]),
        Route("/api/carts/{cart_id}/items", add_item, methods=["POST"]),
        Route("/api/carts/{cart_id}/items/{sku}", remove_item, methods=["DELETE"]),
        Route("/api/orders", place_order, methods=["POST"]),
        Route("/api/orders/{order_id}", get_order, methods=["GET"]),
        Route("/admin/breakers", breaker_states, methods=["GET"]),
    ]
