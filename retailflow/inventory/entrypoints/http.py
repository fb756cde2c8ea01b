"""Inventory's HTTP face (docs/contracts.md, section 3). Domain refusals become 4xx here."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.errors import NotFound, ServiceUnavailable, ShopHTTPError
from retailflow.common.web import JSON, ErrorHandler, answered_as, json_body, require
from retailflow.inventory.adapters.legacy_client import LegacyUnavailable
from retailflow.inventory.domain import errors
from retailflow.inventory.domain.commands import CommitReservation, ReleaseReservation, ReserveStock
from retailflow.inventory.domain.model import SKU_LENGTH, is_sku, parse_items, validate_reservation_id, validate_ttl
from retailflow.inventory.service_layer.handlers import InventoryHandlers
from retailflow.inventory.service_layer.legacy_sync import LegacyReconciler, LegacySyncRelay, sync_status

__all__ = ["ERROR_HANDLERS", "routes"]

MAX_BATCH = 500


def _answer(exc: Exception) -> ShopHTTPError:
    """Domain refusals become 4xx answers; an inconsistency the domain found is a 500."""
    message = str(exc)
    if isinstance(exc, errors.InvalidReservation):
        return ShopHTTPError(message, code="invalid", status=422)
    if isinstance(exc, errors.UnknownSku):
        return ShopHTTPError(message, code="unknown_sku", status=404, sku=exc.sku)
    if isinstance(exc, errors.InsufficientStock):
        return ShopHTTPError(message, code="insufficient_stock", status=409, sku=exc.sku)
    if isinstance(exc, errors.ReservationNotFound):
        return NotFound(message)
    if isinstance(exc, errors.ReservationClosed):
        return ShopHTTPError(message, code=f"reservation_{exc.status}", status=409)
    if isinstance(exc, errors.ReservationConflict):
        return ShopHTTPError(message, code="reservation_conflict", status=409)
    return ShopHTTPError(message, code="inconsistent", status=500)


ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {errors.InventoryError: answered_as(_answer)}


def _reservation_id(request: Request) -> str:
    try:
        return validate_reservation_id(request.path_params["reservation_id"])
    except errors.InvalidReservation:
        raise NotFound(f"no reservation {request.path_params['reservation_id'][:100]!r}") from None


def routes(
    handlers: InventoryHandlers,
    relay: LegacySyncRelay | None,
    reconciler: LegacyReconciler | None,
    legacy_url: str | None,
    default_ttl_s: int,
) -> list[Route]:
    async def get_stock(request: Request) -> Response:
        """Stock of one sku.
        ---
        parameters:
          - {name: sku, in: path, required: true, schema: {type: string}, example: SKU-000001}
        responses:
          200:
            description: '{"sku", "available", "reserved", "sold", "initial", "version"}'
          404:
            description: unknown sku
        """
        sku = request.path_params["sku"]
        if not is_sku(sku):
            raise errors.UnknownSku(sku[:SKU_LENGTH])
        return JSON(handlers.stock(sku).to_json())

    async def stock_batch(request: Request) -> Response:
        """Stock of many skus at once, in the order asked; unknown skus are listed in `missing`.
        ---
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [skus]
                properties:
                  skus: {type: array, maxItems: 500, items: {type: string, maxLength: 64}}
              example: {skus: [SKU-000001, DB-0001]}
        responses:
          200:
            description: '{"items": [stock], "missing": [sku]}'
          422:
            description: skus missing or not a list of strings
        """
        body = await json_body(request)
        skus = require(body, "skus", list, max_length=MAX_BATCH)
        if not all(is_sku(sku) for sku in skus):
            raise ShopHTTPError(
                f"'skus' must be strings of 1 to {SKU_LENGTH} printable characters", code="invalid", status=422
            )
        found = {stock.sku: stock for stock in handlers.stocks(skus)}
        asked = dict.fromkeys(skus)  # each sku once, in the order asked
        return JSON(
            {
                "items": [found[sku].to_json() for sku in asked if sku in found],
                "missing": [sku for sku in asked if sku not in found],
            }
        )

    async def reserve(request: Request) -> Response:
        """Hold stock for an order: every line or none. The same reservation_id again gives the same answer.
        ---
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [reservation_id, items]
                properties:
                  reservation_id: {type: string, pattern: '^[A-Za-z0-9._:-]{1,100}$'}
                  ttl_s: {type: integer, minimum: 1, maximum: 86400}
                  items:
                    type: array
                    minItems: 1
                    maxItems: 50
                    items:
                      type: object
                      required: [sku, qty]
                      properties:
                        sku: {type: string, minLength: 1, maxLength: 64}
                        qty: {type: integer, minimum: 1, maximum: 100}
              example: {reservation_id: order-1, items: [{sku: SKU-000001, qty: 1}], ttl_s: 60}
        responses:
          201:
            description: held (or the reservation as it stands, for a repeated id)
          404:
            description: a line names an unknown sku
          409:
            description: insufficient_stock (with the sku), or the id was used with other items
          422:
            description: a field is missing or out of range
        """
        body = await json_body(request)
        ttl = body.get("ttl_s")
        cmd = ReserveStock(
            reservation_id=validate_reservation_id(body.get("reservation_id")),
            lines=parse_items(body.get("items")),
            ttl_s=default_ttl_s if ttl is None else validate_ttl(ttl),
        )
        reservation, created = handlers.reserve(cmd)
        headers = {} if created else {"idempotent-replayed": "true"}
        return JSON(reservation.to_json(), status_code=201, headers=headers)

    async def get_reservation(request: Request) -> Response:
        """One reservation and its status (held, committed, released, expired, rejected).
        ---
        parameters:
          - {name: reservation_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: the reservation
          404:
            description: no such reservation
        """
        return JSON(handlers.reservation(_reservation_id(request)).to_json())

    async def commit(request: Request) -> Response:
        """Turn held units into sold ones (idempotent).
        ---
        parameters:
          - {name: reservation_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: committed
          404:
            description: no such reservation
          409:
            description: the reservation was released or expired
        """
        return JSON(handlers.commit(CommitReservation(_reservation_id(request))).to_json())

    async def release(request: Request) -> Response:
        """Give held units back (idempotent).
        ---
        parameters:
          - {name: reservation_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: released (or already released or expired)
          404:
            description: no such reservation
          409:
            description: the reservation was committed
        """
        return JSON(handlers.release(ReleaseReservation(_reservation_id(request))).to_json())

    async def admin_sync(request: Request) -> Response:
        """The dual-write's backlog: pending legacy writes, last success, divergence found and repaired.
        ---
        responses:
          200:
            description: the legacy sync status
        """
        return JSON(sync_status(handlers.repo, relay, legacy_url))

    async def admin_reconcile(request: Request) -> Response:
        """Compare legacy with this store now and repair divergent rows.
        ---
        responses:
          200:
            description: '{"checked", "divergent", "repaired", "seconds"}'
          409:
            description: the dual-write is off (no RF_LEGACY_URL)
          503:
            description: legacy did not answer
        """
        if reconciler is None:
            raise ShopHTTPError(
                "the dual-write is off: RF_LEGACY_URL is not set", code="dual_write_disabled", status=409
            )
        try:
            result: dict[str, Any] = await reconciler.reconcile()
        except LegacyUnavailable as exc:
            raise ServiceUnavailable(
                f"legacy did not answer the reconciler: {exc.detail}", code="legacy_unavailable"
            ) from exc
        return JSON(result)

    return [
        Route("/stock/batch", stock_batch, methods=["POST"]),
        Route("/stock/{sku}", get_stock, methods=["GET"]),
        Route("/reservations", reserve, methods=["POST"]),
        Route("/reservations/{reservation_id}", get_reservation, methods=["GET"]),
        Route("/reservations/{reservation_id}/commit", commit, methods=["POST"]),
        Route("/reservations/{reservation_id}/release", release, methods=["POST"]),
        Route("/admin/sync", admin_sync, methods=["GET"]),
        Route("/admin/reconcile", admin_reconcile, methods=["POST"]),
    ]
