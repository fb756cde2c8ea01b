"""The cart and checkout pages, and the form posts a browser makes (add to cart, place the order).

Forms post to the gateway, which calls orders and redirects (303) to the page that shows the
result, so a reload never re-submits; the cart id rides in a cookie between pages.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.errors import BadRequest, ServiceUnavailable, ShopHTTPError
from retailflow.contracts import MAX_QTY
from retailflow.gateway.page_kit import (
    CART_COOKIE,
    cart_id_of,
    expect_ok,
    form_text,
    html_errors,
    read_form,
    see_other,
)
from retailflow.gateway.queries import ID_LENGTH, path_id
from retailflow.gateway.shop import ShopClient
from retailflow.gateway.views import Views

__all__ = ["cart_routes"]


def cart_routes(shop: ShopClient, views: Views) -> list[Route]:
    page = html_errors(views)

    async def cart(request: Request) -> Response:
        """The cart (from `cart_id`, or the cart cookie).
        ---
        summary: cart page
        parameters:
          - {name: cart_id, in: query, schema: {type: string}}
        responses:
          200:
            description: HTML
          404:
            description: HTML; no such cart
        """
        cart_id = cart_id_of(request)
        if not cart_id:
            return views.render("cart", cart=None)
        body = expect_ok(await shop.cart(quote(cart_id, safe="")), "this cart")
        return views.render("cart", cart=body, cart_id=cart_id)

    async def add_to_cart(request: Request) -> Response:
        """The add-to-cart form: puts the product in the cart (a new one if needed), then shows the cart.
        ---
        summary: add to cart (form)
        requestBody:
          content:
            application/x-www-form-urlencoded:
              schema:
                type: object
                required: [sku]
                properties:
                  sku: {type: string}
                  qty: {type: integer, minimum: 1, maximum: 99}
                  cart_id: {type: string}
        responses:
          303:
            description: to the cart page
          404:
            description: HTML; no such product
          422:
            description: HTML; a bad quantity
        """
        form = await read_form(request)
        sku = form_text(form, "sku")
        qty_text = form.get("qty", "1").strip() or "1"
        if not qty_text.isdigit() or not 1 <= int(qty_text) <= MAX_QTY:
            raise ShopHTTPError(f"the quantity must be a whole number from 1 to {MAX_QTY}", code="invalid", status=422)
        cart_id = form_text(form, "cart_id", required=False) or request.cookies.get(CART_COOKIE, "")[:ID_LENGTH]
        item = {"sku": sku, "qty": int(qty_text)}
        if cart_id:
            quoted = quote(cart_id, safe="")
            answer = await shop.add_item(quoted, item)
            if answer.status != 404 or (await shop.cart(quoted)).status != 404:
                expect_ok(answer, "the product")
                return see_other(f"/cart?cart_id={quoted}", cart_id)
        # no cart yet, or the remembered one is gone: start one
        cart_id = str(expect_ok(await shop.new_cart(), "a new cart")["cart_id"])
        quoted = quote(cart_id, safe="")
        expect_ok(await shop.add_item(quoted, item), "the product")
        return see_other(f"/cart?cart_id={quoted}", cart_id)

    async def remove_from_cart(request: Request) -> Response:
        """The remove button of the cart page.
        ---
        summary: remove from cart (form)
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string}}
        requestBody:
          content:
            application/x-www-form-urlencoded:
              schema:
                type: object
                required: [cart_id]
                properties:
                  cart_id: {type: string}
        responses:
          303:
            description: to the cart page
          404:
            description: HTML; no such cart
        """
        form = await read_form(request)
        cart_id = form_text(form, "cart_id")
        expect_ok(await shop.remove_item(quote(cart_id, safe=""), path_id(request, "sku", "product")), "this cart")
        return see_other(f"/cart?cart_id={quote(cart_id, safe='')}")

    async def render_checkout(cart_id: str, status: int = 200, **context: Any) -> Response:
        body = expect_ok(await shop.cart(quote(cart_id, safe="")), "this cart")
        context.setdefault("payment_token", "tok_visa")
        context.setdefault("customer_id", "guest")
        # a fresh key per rendered form: a double click re-sends it, a new attempt gets a new one
        return views.render("checkout", status, cart=body, cart_id=cart_id, idempotency_key=uuid.uuid4().hex, **context)

    async def checkout(request: Request) -> Response:
        """The checkout form for a cart.
        ---
        summary: checkout page
        parameters:
          - {name: cart_id, in: query, schema: {type: string}}
        responses:
          200:
            description: HTML with the order form
          400:
            description: HTML; no cart given
          404:
            description: HTML; no such cart
        """
        cart_id = cart_id_of(request)
        if not cart_id:
            raise BadRequest("there is no cart to check out; add a product first", code="no_cart")
        return await render_checkout(cart_id)

    async def place_order(request: Request) -> Response:
        """The checkout form's post: places the order and shows the confirmation.
        ---
        summary: place an order (form)
        requestBody:
          content:
            application/x-www-form-urlencoded:
              schema:
                type: object
                required: [cart_id, payment_token]
                properties:
                  cart_id: {type: string}
                  idempotency_key: {type: string}
                  payment_token: {type: string}
                  customer_id: {type: string}
        responses:
          303:
            description: to the order confirmation
          402:
            description: HTML; the payment was declined
          409:
            description: HTML; a product sold out
          422:
            description: HTML; a missing field
        """
        form = await read_form(request)
        cart_id = form_text(form, "cart_id")
        token = form_text(form, "payment_token", max_length=64)
        customer = form_text(form, "customer_id", required=False, max_length=64) or "guest"
        key = form_text(form, "idempotency_key", required=False) or uuid.uuid4().hex
        answer = await shop.place_order(key, {"cart_id": cart_id, "payment_token": token, "customer_id": customer})
        if answer.ok and isinstance(answer.body, dict) and answer.body.get("order_id"):
            response = see_other(f"/orders/{quote(str(answer.body['order_id']), safe='')}")
            response.delete_cookie(CART_COOKIE)
            return response
        if answer.status in (402, 409):
            body = answer.body if isinstance(answer.body, dict) else {}
            problem = (
                "Your payment was declined; try another payment method."
                if answer.status == 402
                else f"Sorry, {body.get('sku') or 'an item in your cart'} sold out."
            )
            return await render_checkout(
                cart_id,
                answer.status,
                problem=problem,
                problem_code=body.get("error", ""),
                payment_token=token,
                customer_id=customer,
            )
        expect_ok(answer, "placing the order")
        raise ServiceUnavailable("the order service gave no order id; please try again")

    return [
        Route("/cart", page(cart), methods=["GET"]),
        Route("/cart/items", page(add_to_cart), methods=["POST"]),
        Route("/cart/items/{sku}/delete", page(remove_from_cart), methods=["POST"]),
        Route("/checkout", page(checkout), methods=["GET"]),
        Route("/checkout", page(place_order), methods=["POST"]),
    ]
