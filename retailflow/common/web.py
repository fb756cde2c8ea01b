"""HTTP plumbing shared by every service: the app factory, JSON in and out, health and metrics.

Starlette + orjson on uvicorn (uvloop, httptools): the cheapest Python stack per request that
still generates an OpenAPI document from the routes. Middleware is pure ASGI, not
BaseHTTPMiddleware, because the latter costs a task per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retailflow.common.db import DatabaseError
from retailflow.common.errors import BadRequest, ServiceUnavailable, ShopHTTPError
from retailflow.common.handled import HANDLED_ERRORS

__all__ = [
    "JSON",
    "ErrorHandler",
    "ReadyCheck",
    "answered_as",
    "correlation_id",
    "create_service_app",
    "json_body",
    "query_int",
    "require",
]

log = logging.getLogger("retailflow.http")
correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
ReadyCheck = Callable[[], Awaitable[bool]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]
CLIENT_CLOSED_REQUEST = 499
READY_CHECK_TIMEOUT_S = 2.0  # a dependency that hangs is not ready, and /readyz still answers


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, code: str, detail: str, **extra: object) -> JSON:
    return JSON({"error": code, "detail": detail, **extra}, status_code=status)


# -- request helpers ---------------------------------------------------------------------------


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    raw = await request.body()
    if not raw:
        raise BadRequest("the request needs a JSON object body", code="malformed_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}", code="malformed_json") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="malformed_json")
    return body


def require(
    body: Mapping[str, Any],
    key: str,
    kind: type,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    max_length: int = 200,
    default: Any = ...,
) -> Any:
    """One validated field of a JSON body: its type, bounds and length, with a 422 naming it."""
    if key not in body or body[key] is None:
        if default is not ...:
            return default
        raise ShopHTTPError(f"'{key}' is required", code="invalid", status=422)
    value = body[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ShopHTTPError(f"'{key}' must be a whole number", code="invalid", status=422)
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ShopHTTPError(f"'{key}' must be a number", code="invalid", status=422)
    if kind in (str, list, dict) and not isinstance(value, kind):
        raise ShopHTTPError(f"'{key}' must be a {kind.__name__}", code="invalid", status=422)
    if kind in (int, float):
        if minimum is not None and value < minimum:
            raise ShopHTTPError(f"'{key}' must be at least {minimum}", code="invalid", status=422)
        if maximum is not None and value > maximum:
            raise ShopHTTPError(f"'{key}' must be at most {maximum}", code="invalid", status=422)
    if kind in (str, list) and len(value) > max_length:
        raise ShopHTTPError(f"'{key}' is longer than {max_length}", code="invalid", status=422)
    if kind is str and not value:
        raise ShopHTTPError(f"'{key}' must not be empty", code="invalid", status=422)
    return value


def query_int(request: Request, key: str, default: int, *, minimum: int = 0, maximum: int = 10**9) -> int:
    raw = request.query_params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter '{key}' must be a whole number, got {raw[:40]!r}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"query parameter '{key}' must be between {minimum} and {maximum}")
    return value


# -- middleware ----------------------------------------------------------------------------------


class EdgeMiddleware:
    """Correlation id, body-size limit, metrics and one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, *, service: str, max_body: int, registry: CollectorRegistry) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["route", "method", "status"], registry=registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = correlation_id.set(rid)
        start = time.perf_counter()
        status = 500
        length = headers.get(b"content-length")
        try:
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                response = error_response(413, "payload_too_large", f"bodies are limited to {self.max_body} bytes")
                response.headers["x-request-id"] = rid
                status = 413
                await response(scope, receive, send)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise ShopHTTPError(
                            f"bodies are limited to {self.max_body} bytes", code="payload_too_large", status=413
                        )
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
                await send(message)

            await self.app(scope, limited_receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            # The router records the route it matched in the scope; matching again costs 10-100 µs.
            matched = scope.get("route")
            route = getattr(matched, "path", "unmatched") if status != 404 else "unmatched"
            self.requests.labels(route, scope["method"], str(status)).inc()
            self.latency.labels(route).observe(elapsed)
            if status >= 500 or log.isEnabledFor(logging.DEBUG):
                log.log(
                    logging.WARNING if status >= 500 else logging.DEBUG,
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                        "service": self.service,
                    },
                )
            correlation_id.reset(token)


# -- the app factory -----------------------------------------------------------------------------


async def _shop_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShopHTTPError)
    if exc.status >= 500:
        log.warning("error", extra={"error": exc.code, "detail": exc.detail})
    return error_response(exc.status, exc.code, exc.detail, **exc.extra)


def answered_as(translate: Callable[[Exception], ShopHTTPError]) -> ErrorHandler:
    """The exception handler of one domain error family: `translate` says which HTTP answer each
    error of the family gets (registered on the family's base class, it sees all of them)."""

    async def handler(request: Request, exc: Exception) -> Response:
        answer = translate(exc)
        if answer.status == 500:  # an error the domain did not expect: keep its traceback
            log.error("domain error answered %s", answer.status, exc_info=exc, extra={"path": request.url.path})
        return await _shop_error(request, answer)

    return handler


def _store_error(service: str) -> ErrorHandler:
    def translate(exc: Exception) -> ShopHTTPError:
        return ServiceUnavailable(f"the {service} store failed: {exc}", code="store_unavailable")

    return answered_as(translate)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. Allow on a 405
    return response


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client left before its request arrived whole (or the read timeout closed it): nobody is
    # there to answer. 499, as nginx names it, keeps it apart from the shop's own errors in metrics.
    log.info("client went away before its request arrived", extra={"path": request.url.path})
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return error_response(500, "internal", "the service failed to answer; see its log")


def create_service_app(
    service: str,
    routes: Sequence[BaseRoute],
    *,
    ready_checks: Mapping[str, ReadyCheck] | None = None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    max_body_bytes: int = 64 * 1024,
    title: str | None = None,
    error_handlers: Mapping[type[Exception], ErrorHandler] | None = None,
) -> Starlette:
    """A service's ASGI app: its routes plus /healthz, /readyz, /metrics and /openapi.json.

    `error_handlers` answer the service's domain error families (see `answered_as`); a store
    failure (DatabaseError) is a 503 `store_unavailable` in every service.

    `ready_checks` name the service's own dependencies (its store, the bus); /readyz is 200
    only when every one answers.
    """
    registry = CollectorRegistry()
    checks = dict(ready_checks or {})
    schemas = SchemaGenerator(
        {"openapi": "3.0.0", "info": {"title": title or f"RetailFlow {service}", "version": "1.0.0"}}
    )

    async def healthz(request: Request) -> Response:
        """Liveness: the process answers.
        ---
        responses:
          200:
            description: alive
        """
        return JSON({"status": "ok", "service": service})

    async def readyz(request: Request) -> Response:
        """Readiness: every dependency of this service answers; if not, which did not and why.
        ---
        responses:
          200:
            description: '{"ready": true, "checks": {name: true}}'
          503:
            description: '{"ready": false, "checks": {name: bool}, "failed": {name: reason}}'
        """
        results: dict[str, bool] = {}
        failed: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), READY_CHECK_TIMEOUT_S))
                if not results[name]:
                    failed[name] = "answered not ready"
            except TimeoutError:
                results[name] = False
                failed[name] = f"did not answer within {READY_CHECK_TIMEOUT_S:g} s"
            except Exception as exc:
                results[name] = False
                failed[name] = f"{type(exc).__name__}: {exc}"[:300]
        if failed:
            return JSON({"ready": False, "checks": results, "failed": failed}, status_code=503)
        return JSON({"ready": True, "checks": results})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    document: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        if not document:  # generated from the routes' docstrings, once
            document.update(schemas.get_schema(routes=list(app.routes)))
        # YAML docstrings give integer status keys; OpenAPI wants strings.
        return Response(orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS), media_type="application/json")

    all_routes = [
        *routes,
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics, include_in_schema=False),
        Route("/openapi.json", openapi, include_in_schema=False),
    ]
    app = Starlette(
        routes=all_routes,
        lifespan=lifespan,
        exception_handlers={
            ShopHTTPError: _shop_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            DatabaseError: _store_error(service),
            **(error_handlers or {}),
            Exception: _unexpected,
        },
    )
    app.state.registry = registry
    registry.register(HANDLED_ERRORS)
    app.add_middleware(EdgeMiddleware, service=service, max_body=max_body_bytes, registry=registry)
    return app
