"""The catalog's HTTP face (docs/contracts.md, section 3). Docstrings feed /openapi.json."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.catalog.domain.errors import CatalogError, UnknownCategory, UnknownProduct
from retailflow.catalog.domain.queries import InvalidQuery, ListQuery, SearchQuery
from retailflow.catalog.service_layer.views import CatalogViews
from retailflow.common.errors import BadRequest, NotFound, ShopHTTPError
from retailflow.common.web import JSON, ErrorHandler, answered_as, json_body, require

__all__ = ["ERROR_HANDLERS", "routes"]

SKU_LENGTH = 64
MAX_BATCH = 100


def _answer(exc: Exception) -> ShopHTTPError:
    """Domain refusals become 4xx answers, never a bare 500."""
    if isinstance(exc, InvalidQuery):
        return BadRequest(str(exc), code="invalid_query", parameter=exc.parameter)
    if isinstance(exc, UnknownProduct):
        return NotFound(str(exc), code="unknown_sku", sku=exc.sku[:SKU_LENGTH])
    if isinstance(exc, UnknownCategory):
        return NotFound(str(exc), code="unknown_category")
    return BadRequest(str(exc))


ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {CatalogError: answered_as(_answer)}


def routes(views: CatalogViews) -> list[Route]:
    async def categories(request: Request) -> Response:
        """The category tree: departments (parent null) and their subcategories, with product counts.
        ---
        responses:
          200:
            description: "[{slug, name, parent, product_count}]"
        """
        return JSON(await views.categories())

    async def products(request: Request) -> Response:
        """A page of products, optionally of one category (a department includes its subcategories).
        ---
        parameters:
          - {name: category, in: query, schema: {type: string, maxLength: 64}}
          - {name: sort, in: query, schema: {type: string, enum: [featured, price_asc, price_desc, name]}}
          - {name: page, in: query, schema: {type: integer, minimum: 1, maximum: 10000}}
          - {name: per_page, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        responses:
          200:
            description: "{items: [product], page, per_page, total}"
          400:
            description: a parameter is out of range
          404:
            description: unknown category
        """
        return JSON(await views.listing(ListQuery.parse(request.query_params)))

    async def product(request: Request) -> Response:
        """One product.
        ---
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: "{sku, name, description, category, price_cents, brand, doorbuster}"
          404:
            description: unknown sku
        """
        return JSON(await views.product(request.path_params["sku"]))

    async def batch(request: Request) -> Response:
        """Several products at once, in the order asked; unknown skus are listed under `missing`.
        ---
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [skus]
                properties:
                  skus:
                    type: array
                    maxItems: 100
                    items: {type: string, minLength: 1, maxLength: 64}
        responses:
          200:
            description: "{items: [product], missing: [sku]}"
          400:
            description: the body is not a JSON object
          422:
            description: skus is missing, too long, or holds something other than strings
        """
        body = await json_body(request)
        skus = require(body, "skus", list, max_length=MAX_BATCH)
        for sku in skus:
            if not isinstance(sku, str) or not 1 <= len(sku) <= SKU_LENGTH:
                raise ShopHTTPError(
                    f"'skus' must hold strings of 1 to {SKU_LENGTH} characters", code="invalid", status=422
                )
        return JSON(await views.products(skus))

    async def search(request: Request) -> Response:
        """Full-text search over names, brands and descriptions; every word must match (stemmed).
        ---
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
            description: "{items: [product], total, page, per_page, query}"
          400:
            description: a parameter is missing or out of range
          404:
            description: unknown category
        """
        return JSON(await views.search(SearchQuery.parse(request.query_params)))

    async def doorbusters(request: Request) -> Response:
        """The limited-stock Black Friday SKUs.
        ---
        responses:
          200:
            description: "[product]"
        """
        return JSON(await views.doorbusters())

    return [
        Route("/categories", categories, methods=["GET"]),
        Route("/products", products, methods=["GET"]),
        Route("/products/batch", batch, methods=["POST"]),
        Route("/products/{sku}", product, methods=["GET"]),
        Route("/search", search, methods=["GET"]),
        Route("/doorbusters", doorbusters, methods=["GET"]),
    ]
