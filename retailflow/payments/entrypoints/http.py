"""The payments service's HTTP face."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.common.errors import NotFound, ShopHTTPError
from retailflow.common.web import JSON, ErrorHandler, answered_as, json_body, require
from retailflow.payments.adapters.provider import SimulatedProvider
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.domain.model import Payment, PaymentConflict, PaymentsError, ProviderSettings
from retailflow.payments.service_layer import handlers

__all__ = ["ERROR_HANDLERS", "routes"]

ID_LENGTH = 64
MAX_AMOUNT = 10**10  # $100M: beyond any basket the shop can hold
Endpoint = Callable[[Request], Awaitable[Response]]


def _answer(exc: Exception) -> ShopHTTPError:
    if isinstance(exc, PaymentConflict):
        return ShopHTTPError(str(exc), code=exc.code, status=409)
    if isinstance(exc, handlers.PaymentNotFound):
        return NotFound(str(exc), code="payment_not_found")
    return ShopHTTPError(str(exc), code="internal", status=500)


ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {PaymentsError: answered_as(_answer)}


def _payment_id(request: Request) -> str:
    value: str = request.path_params["payment_id"]
    if len(value) > ID_LENGTH:
        raise NotFound(f"no payment {value[:ID_LENGTH]!r}...", code="payment_not_found")
    return value


def _payment_json(store: PaymentStore, payment: Payment, status: int = 200) -> Response:
    return JSON({**payment.to_json(), "captured_at": store.captured_at(payment.payment_id)}, status_code=status)


def routes(store: PaymentStore, provider: SimulatedProvider) -> list[Route]:
    async def authorize(request: Request) -> Response:
        """Authorize an amount at the provider; the same payment_id always gets the first answer.
        ---
        summary: 'Authorize an amount at the provider; the same payment_id always gets the first answer'
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [payment_id, order_id, amount_cents, token]
                properties:
                  payment_id: {type: string, minLength: 1, maxLength: 64}
                  order_id: {type: string, minLength: 1, maxLength: 64}
                  amount_cents: {type: integer, minimum: 1, maximum: 10000000000}
                  token: {type: string, minLength: 1, maxLength: 200}
        responses:
          201:
            description: authorized
          402:
            description: declined by the provider
          409:
            description: the payment_id was used for another order or amount
          422:
            description: a field is missing or out of range
        """
        body = await json_body(request)
        payment = await handlers.authorize(
            store,
            provider,
            payment_id=require(body, "payment_id", str, max_length=ID_LENGTH),
            order_id=require(body, "order_id", str, max_length=ID_LENGTH),
            amount_cents=require(body, "amount_cents", int, minimum=1, maximum=MAX_AMOUNT),
            token=require(body, "token", str),
        )
        if payment.status == "declined":
            return JSON(
                {
                    "error": "payment_declined",
                    "detail": f"the provider declined: {payment.decline_reason}",
                    "payment_id": payment.payment_id,
                },
                status_code=402,
            )
        return _payment_json(store, payment, 201)

    async def capture(request: Request) -> Response:
        """Capture an authorized payment; capturing again answers the same, never charges twice.
        ---
        summary: 'Capture an authorized payment; capturing again answers the same, never charges twice'
        parameters:
          - {name: payment_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: captured
          404:
            description: no such payment
          409:
            description: the payment is voided or was declined
        """
        return _payment_json(store, await handlers.capture(store, provider, _payment_id(request)))

    async def void(request: Request) -> Response:
        """Release an authorization that will not be captured (idempotent).
        ---
        summary: 'Release an authorization that will not be captured (idempotent)'
        parameters:
          - {name: payment_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: voided (or nothing was held)
          404:
            description: no such payment
          409:
            description: already captured
        """
        return _payment_json(store, await handlers.void(store, provider, _payment_id(request)))

    async def get_payment(request: Request) -> Response:
        """One payment.
        ---
        summary: 'One payment'
        parameters:
          - {name: payment_id, in: path, required: true, schema: {type: string}}
        responses:
          200:
            description: the payment
          404:
            description: no such payment
        """
        payment = store.get(_payment_id(request))
        if payment is None:
            raise NotFound(f"no payment {request.path_params['payment_id']!r}", code="payment_not_found")
        return _payment_json(store, payment)

    async def get_provider(request: Request) -> Response:
        """The simulated provider's latency and failure rate.
        ---
        summary: 'The simulated provider''s latency and failure rate'
        responses:
          200:
            description: '{latency_ms, failure_rate}'
        """
        settings = store.settings()
        return JSON({"latency_ms": settings.latency_ms, "failure_rate": settings.failure_rate})

    async def put_provider(request: Request) -> Response:
        """Change the simulated provider for every replica; omitted fields keep their value.
        ---
        summary: 'Change the simulated provider for every replica; omitted fields keep their value'
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                properties:
                  latency_ms: {type: integer, minimum: 0, maximum: 60000}
                  failure_rate: {type: number, minimum: 0, maximum: 1}
        responses:
          200:
            description: the new settings
          422:
            description: a value out of range
        """
        body = await json_body(request)
        current = store.settings()
        settings = ProviderSettings(
            latency_ms=require(body, "latency_ms", int, minimum=0, maximum=60_000, default=current.latency_ms),
            failure_rate=float(
                require(body, "failure_rate", float, minimum=0, maximum=1, default=current.failure_rate)
            ),
        )
        store.set_settings(settings)
        return JSON({"latency_ms": settings.latency_ms, "failure_rate": settings.failure_rate})

    endpoints: list[tuple[str, Endpoint, str]] = [
        ("/payments/authorize", authorize, "POST"),
        ("/payments/{payment_id}", get_payment, "GET"),
        ("/payments/{payment_id}/capture", capture, "POST"),
        ("/payments/{payment_id}/void", void, "POST"),
        ("/admin/provider", get_provider, "GET"),
        ("/admin/provider", put_provider, "PUT"),
    ]
    return [Route(path, fn, methods=[method]) for path, fn, method in endpoints]
