"""The storefront: server-rendered pages, and the form posts a browser makes (add to cart, checkout).

Pages that look the same for everyone (home, category, search) are cached rendered for a few
seconds; the product page is rendered each time because it shows live-ish stock. A page whose
data is missing or whose upstream is down answers an HTML error page with the fitting status.
"""

from __future__ import annotations

import asyncio
import functools
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from retailflow.common.errors import BadRequest, NotFound, ServiceUnavailable, ShopHTTPError
from retailflow.common.upstream import UpstreamResponse
from retailflow.gateway.queries import (
    ID_LENGTH,
    SEARCH_SORTS,
    listing_query,
    path_id,
    search_query,
    to_query_string,
)
from retailflow.gateway.shop import ShopClient
from retailflow.gateway.views import Views

__all__ = ["page_routes"]

CART_COOKIE = "rf_cart"
PER_PAGE = 24
MAX_QTY = 100  # per cart line, as orders allows
Handler = Callable[[Request], Awaitable[Response]]


def expect_ok(response: UpstreamResponse, what: str) -> Any:
    """The body of a 2xx answer; anything else becomes the page's error."""
    if response.ok and not isinstance(response.body, bytes | bytearray):
        return response.body
    body = response.body if isinstance(response.body, dict) else {}
    if response.status == 404:
        raise NotFound(body.get("detail") or f"{what} does not exist")
    if 400 <= response.status < 500:
        raise ShopHTTPError(
            str(body.get("detail") or body.get("error") or f"{what} was refused"),
            code=str(body.get("error") or "refused"),
            status=response.status,
        )
    raise ServiceUnavailable(f"{what} is unavailable right now; please try again shortly")


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ShopHTTPError(
            "send the form as application/x-www-form-urlencoded", code="unsupported_media_type", status=415
        )
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the form could not be read: {exc}") from None


def form_text(form: dict[str, str], key: str, *, required: bool = True, max_length: int = ID_LENGTH) -> str:
    value = form.get(key, "").strip()
    if required and not value:
        raise ShopHTTPError(f"the form field '{key}' is required", code="invalid", status=422)
    if len(value) > max_length:
        raise ShopHTTPError(f"the form field '{key}' is longer than {max_length}", code="invalid", status=422)
    return value


def see_other(url: str, cart_id: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if cart_id is not None:
        response.set_cookie(CART_COOKIE, cart_id, max_age=7 * 86400, httponly=True, samesite="lax")
    return response


def page_routes(shop: ShopClient, views: Views) -> list[Route]:
    cache = shop.cache
    ttl = shop.settings.cache_ttl_s

    def html_errors(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except ShopHTTPError as exc:
                return views.error(exc.status, exc.code, exc.detail)

        return page

    async def cached_page(key: str, render: Callable[[], Awaitable[HTMLResponse]]) -> Response:
        hit = await cache.get(key)
        if hit is not None:
            return HTMLResponse(hit)
        response = await render()
        if response.status_code == 200 and ttl > 0:
            await cache.set(key, bytes(response.body), ttl)
        return response

    async def categories() -> list[dict[str, Any]]:
        body = expect_ok(await shop.catalog_get("/categories"), "the category list")
        return body if isinstance(body, list) else []

    def cart_id_of(request: Request) -> str:
        value = request.query_params.get("cart_id") or request.cookies.get(CART_COOKIE) or ""
        return value if len(value) <= ID_LENGTH else ""

    async def home(request: Request) -> Response:
        """Home: departments and their categories, doorbusters, featured products.
        ---
        summary: home page
        responses:
          200:
            description: HTML
          503:
            description: HTML; the catalog is unavailable
        """

        async def render() -> HTMLResponse:
            # three independent catalog answers: asked at once, so a miss costs one round trip
            tree, doorbusters_answer, featured_answer = await asyncio.gather(
                categories(), shop.catalog_get("/doorbusters"), shop.catalog_get("/products?page=1&per_page=12")
            )
            doorbusters = expect_ok(doorbusters_answer, "the doorbusters")
            featured = expect_ok(featured_answer, "the featured products")
            children: dict[str, list[dict[str, Any]]] = {}
            for c in tree:
                children.setdefault(c.get("parent") or "", []).append(c)
            return views.render(
                "home",
                departments=children.get("", []),
                children=children,
                doorbusters=doorbusters,
                featured=featured.get("items", []),
            )

        return await cached_page("page:home", render)

    async def category(request: Request) -> Response:
        """A category's products, a page at a time.
        ---
        summary: category page
        parameters:
          - {name: slug, in: path, required: true, schema: {type: string}}
          - {name: page, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
          - {name: sort, in: query, schema: {type: string, enum: [featured, price_asc, price_desc, name]}}
        responses:
          200:
            description: HTML
          400:
            description: HTML; a bad page number
          404:
            description: HTML; no such category
        """
        slug = request.path_params["slug"]
        query = {**listing_query(request, per_page=PER_PAGE), "category": slug, "per_page": PER_PAGE}

        async def render() -> HTMLResponse:
            tree = await categories()
            by_slug = {c.get("slug"): c for c in tree}
            if slug not in by_slug:
                raise NotFound(f"there is no category {slug[:64]!r}")
            listing = expect_ok(await shop.catalog_get(f"/products?{to_query_string(query)}"), "the category")
            total = int(listing.get("total", 0))
            current = by_slug[slug]

            def page_url(n: int) -> str:
                return f"/c/{quote(slug, safe='')}?" + urlencode(
                    {"page": n, **({"sort": query["sort"]} if query["sort"] else {})}
                )

            return views.render(
                "category",
                category=current,
                parent=by_slug.get(current.get("parent")),
                subcategories=[c for c in tree if c.get("parent") == slug],
                items=listing.get("items", []),
                total=total,
                page=query["page"],
                pages=max(1, math.ceil(total / PER_PAGE)),
                page_url=page_url,
            )

        return await cached_page(f"page:c:{to_query_string(query)}", render)

    async def product(request: Request) -> Response:
        """A product: name, price, stock, and an add-to-cart form.
        ---
        summary: product page
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: HTML with data-sku and the name in h1
          404:
            description: HTML; no such product
        """
        product_answer, stock = await shop.product_and_stock(path_id(request, "sku", "product"))
        body = expect_ok(product_answer, "this product")
        available: int | None = None  # unknown: inventory is down, the page still sells
        if not isinstance(stock, BaseException) and isinstance(stock.body, dict):
            available = int(stock.body.get("available", 0)) if stock.ok else 0 if stock.status == 404 else None
        try:  # the breadcrumb's category name; the slug does when the list is unavailable
            category_name = next(
                (c.get("name") for c in await categories() if c.get("slug") == body.get("category")), None
            )
        except ShopHTTPError:
            category_name = None
        return views.render(
            "product",
            product=body,
            available=available,
            cart_id=cart_id_of(request),
            category_name=category_name or body.get("category"),
        )

    async def search(request: Request) -> Response:
        """Search results with filters, sorting and pagination.
        ---
        summary: search page
        parameters:
          - {name: q, in: query, schema: {type: string, maxLength: 200}}
          - {name: category, in: query, schema: {type: string, maxLength: 64}}
          - {name: min_price, in: query, schema: {type: integer, minimum: 0}}
          - {name: max_price, in: query, schema: {type: integer, minimum: 0}}
          - {name: sort, in: query, schema: {type: string, enum: [relevance, price_asc, price_desc, name]}}
          - {name: page, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
        responses:
          200:
            description: HTML
          400:
            description: HTML; a bad filter
        """
        query = {**search_query(request, per_page=PER_PAGE), "per_page": PER_PAGE}
        canonical = to_query_string(query)

        async def render() -> HTMLResponse:
            tree = await categories()
            # an empty search is the search form, not a question for the catalog
            results = expect_ok(await shop.catalog_get(f"/search?{canonical}"), "search") if query["q"] else {}
            total = int(results.get("total", 0))

            def page_url(n: int) -> str:
                return "/search?" + to_query_string({**query, "page": n, "per_page": ""})

            # the category <select> is the same for nearly every search: rendered once per TTL
            options_key = f"fragment:category-options:{query['category']}"
            options = await cache.get(options_key)
            if options is None:
                options = views.fragment("category_options", categories=tree, selected=query["category"])
                if ttl > 0:
                    await cache.set(options_key, options, ttl)
            return views.render(
                "search",
                category_options=options,
                query=query,
                search_q=query["q"],
                sorts=SEARCH_SORTS,
                items=results.get("items", []),
                total=total,
                page=query["page"],
                pages=max(1, math.ceil(total / PER_PAGE)),
                page_url=page_url,
            )

        return await cached_page(f"page:search:{canonical}", render)

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
            answer = await shop.add_item(quote(cart_id, safe=""), item)
            if answer.status != 404 or (await shop.cart(quote(cart_id, safe=""))).status != 404:
                expect_ok(answer, "the product")
                return see_other(f"/cart?cart_id={quote(cart_id, safe='')}", cart_id)
        # no cart yet, or the remembered one is gone: start one
        cart_id = str(expect_ok(await shop.new_cart(), "a new cart")["cart_id"])
        expect_ok(await shop.add_item(quote(cart_id, safe=""), item), "the product")
        return see_other(f"/cart?cart_id={quote(cart_id, safe='')}", cart_id)

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

    async def order(request: Request) -> Response:
        """The order confirmation.
        ---
        summary: order page
        parameters:
          - {name: order_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: HTML with data-order-id
          404:
            description: HTML; no such order
        """
        body = expect_ok(await shop.order(path_id(request, "order_id", "order")), "this order")
        return views.render("order", order=body)

    return [
        Route("/", html_errors(home), methods=["GET"]),
        Route("/c/{slug}", html_errors(category), methods=["GET"]),
        Route("/p/{sku}", html_errors(product), methods=["GET"]),
        Route("/search", html_errors(search), methods=["GET"]),
        Route("/cart", html_errors(cart), methods=["GET"]),
        Route("/cart/items", html_errors(add_to_cart), methods=["POST"]),
        Route("/cart/items/{sku}/delete", html_errors(remove_from_cart), methods=["POST"]),
        Route("/checkout", html_errors(checkout), methods=["GET"]),
        Route("/checkout", html_errors(place_order), methods=["POST"]),
        Route("/orders/{order_id}", html_errors(order), methods=["GET"]),
    ]
