"""The legacy store's HTTP face (the monolith's stock endpoint, as the migration left it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.errors import NotFound
from retailflow.common.web import JSON, json_body, query_int, require
from retailflow.legacy.adapters.store import LegacyStock, LegacyStore

__all__ = ["routes"]

MAX_UNITS = 10**9
SKU_LENGTH = 64


def routes(store: LegacyStore) -> list[Route]:
    async def put_stock(request: Request) -> Response:
        """Write a stock row; the highest `version` wins (a stale write is accepted and ignored).
        ---
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string, maxLength: 64}}
        requestBody:
          content:
            application/json:
              schema:
                type: object
                required: [available, reserved, sold, version]
                properties:
                  available: {type: integer, minimum: 0}
                  reserved: {type: integer, minimum: 0}
                  sold: {type: integer, minimum: 0}
                  version: {type: integer, minimum: 0}
        responses:
          200:
            description: the row as stored, and whether this write changed it
          422:
            description: a field is missing or out of range
        """
        sku = request.path_params["sku"]
        if len(sku) > SKU_LENGTH:
            raise NotFound(f"no stock row for sku {sku[:40]!r}...")
        body = await json_body(request)
        stock = LegacyStock(
            sku=sku,
            available=require(body, "available", int, minimum=0, maximum=MAX_UNITS),
            reserved=require(body, "reserved", int, minimum=0, maximum=MAX_UNITS),
            sold=require(body, "sold", int, minimum=0, maximum=MAX_UNITS),
            version=require(body, "version", int, minimum=0, maximum=2**62),
        )
        applied = store.put(stock)
        current = store.get(sku)
        assert current is not None
        return JSON({**current.to_json(), "applied": applied})

    async def get_stock(request: Request) -> Response:
        """One stock row.
        ---
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          200:
            description: the row
          404:
            description: no such sku
        """
        sku = request.path_params["sku"]
        row = store.get(sku)
        if row is None:
            raise NotFound(f"no stock row for sku {sku[:64]!r}")
        return JSON(row.to_json())

    async def list_stock(request: Request) -> Response:
        """Stock rows in sku order, a page at a time (`after` = last sku of the previous page).
        ---
        parameters:
          - {name: after, in: query, schema: {type: string}}
          - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 5000}}
        responses:
          200:
            description: a page of rows
          400:
            description: a bad limit
        """
        after = request.query_params.get("after", "")[:SKU_LENGTH]
        limit = query_int(request, "limit", 1000, minimum=1, maximum=5000)
        rows = store.page(after, limit)
        return JSON({"items": [r.to_json() for r in rows], "next": rows[-1].sku if len(rows) == limit else None})

    return [
        Route("/stock", list_stock, methods=["GET"]),
        Route("/stock/{sku}", get_stock, methods=["GET"]),
        Route("/stock/{sku}", put_stock, methods=["PUT"]),
    ]
