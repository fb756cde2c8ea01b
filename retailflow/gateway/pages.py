"""The storefront's browsing pages: home, category, product, search, order confirmation.

Pages that look the same for everyone (home, category, search) are cached rendered for a few
seconds; the product page is rendered each time because it shows live-ish stock. A page whose
data is missing or whose upstream is down answers an HTML error page with the fitting status.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from retailflow.common.cache import cached
from retailflow.common.errors import NotFound, ShopHTTPError
from retailflow.gateway.page_kit import cart_id_of, expect_ok, html_errors
from retailflow.gateway.queries import (
    SEARCH_SORTS,
    listing_query,
    path_id,
    search_query,
    to_query_string,
)
from retailflow.gateway.shop import ShopClient
from retailflow.gateway.views import Views

__all__ = ["page_routes"]

PER_PAGE = 24


def _paged(answer: dict[str, Any], page: int | str, page_url: Callable[[int], str]) -> dict[str, Any]:
    """What a paged template (category, search) shows of a catalog answer: its items, the page
    it is on out of how many, and the link to any other page."""
    total = int(answer.get("total", 0))
    return {
        "items": answer.get("items", []),
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PER_PAGE)),
        "page_url": page_url,
    }


def page_routes(shop: ShopClient, views: Views) -> list[Route]:
    cache = shop.cache
    ttl = shop.settings.cache_ttl_s

    page = html_errors(views)

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
        canonical = to_query_string(query)

        async def render() -> HTMLResponse:
            tree = await categories()
            by_slug = {c.get("slug"): c for c in tree}
            if slug not in by_slug:
                raise NotFound(f"there is no category {slug[:64]!r}")
            listing = expect_ok(await shop.catalog_get(f"/products?{canonical}"), "the category")
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
                **_paged(listing, query["page"], page_url),
            )

        return await cached_page(f"page:c:{canonical}", render)

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

            def page_url(n: int) -> str:
                return "/search?" + to_query_string({**query, "page": n, "per_page": ""})

            # the category <select> is the same for nearly every search: rendered once per TTL
            async def render_options() -> Markup:
                return views.fragment("category_options", categories=tree, selected=query["category"])

            options = await cached(cache, f"fragment:category-options:{query['category']}", ttl, render_options)
            return views.render(
                "search",
                category_options=options,
                query=query,
                search_q=query["q"],
                sorts=SEARCH_SORTS,
                **_paged(results, query["page"], page_url),
            )

        return await cached_page(f"page:search:{canonical}", render)

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
        Route("/", page(home), methods=["GET"]),
        Route("/c/{slug}", page(category), methods=["GET"]),
        Route("/p/{sku}", page(product), methods=["GET"]),
        Route("/search", page(search), methods=["GET"]),
        Route("/orders/{order_id}", page(order), methods=["GET"]),
    ]
