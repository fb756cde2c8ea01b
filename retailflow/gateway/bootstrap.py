"""Wires the gateway: upstream clients with a breaker each, the page and API routes, the limiter."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from retailflow.common.config import ServiceConfig
from retailflow.common.upstream import Upstream
from retailflow.common.web import JSON, create_service_app, error_response
from retailflow.gateway.api import api_routes
from retailflow.gateway.breaker import CircuitBreaker, CircuitOpen
from retailflow.gateway.cart_pages import cart_routes
from retailflow.gateway.pages import page_routes
from retailflow.gateway.ratelimit import RateLimiter, RateLimitMiddleware
from retailflow.gateway.settings import UPSTREAMS, GatewaySettings
from retailflow.gateway.shop import ShopClient
from retailflow.gateway.upstreams import BreakerCollector, GuardedUpstream
from retailflow.gateway.views import Views

__all__ = ["create_app", "seed"]


def seed(config: ServiceConfig) -> None:
    """The gateway keeps no store; nothing to seed."""


def create_app(config: ServiceConfig, settings: GatewaySettings | None = None) -> Starlette:
    settings = settings or GatewaySettings.from_env()
    breakers = {
        name: CircuitBreaker(name, failure_threshold=settings.breaker_failures, cooldown_s=settings.breaker_cooldown_s)
        for name in UPSTREAMS
    }
    upstreams = {
        name: GuardedUpstream(
            Upstream(name, config.upstream(name), timeout_s=settings.timeouts_s[name], retries=settings.retries),
            breakers[name],
        )
        for name in UPSTREAMS
    }
    shop = ShopClient(upstreams, settings)
    views = Views()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for upstream in upstreams.values():
                await upstream.close()

    app = create_service_app(
        "gateway",
        [*page_routes(shop, views), *cart_routes(shop, views), *api_routes(shop, breakers)],
        lifespan=lifespan,
        max_body_bytes=config.max_body_bytes,
        title="RetailFlow storefront",
    )
    app.state.registry.register(BreakerCollector(breakers))
    if settings.rate_limit_rps > 0:
        # appended, not added: inside the edge middleware, so a 429 still gets its request id and metrics
        app.user_middleware.append(
            Middleware(
                RateLimitMiddleware,
                limiter=RateLimiter(settings.rate_limit_rps, settings.burst),
                registry=app.state.registry,
            )
        )

    json_not_found = app.exception_handlers[HTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        # a browser that mistypes a page URL gets a page; API clients keep the JSON error
        if isinstance(exc, HTTPException) and exc.status_code == 404 and not request.url.path.startswith("/api/"):
            return views.error(404, "not_found", f"there is no page at {request.url.path[:100]}")
        result = await json_not_found(request, exc)
        assert isinstance(result, JSON)
        return result

    async def circuit_open(request: Request, exc: Exception) -> Response:
        # tells a well-behaved client when the next probe may let it through
        assert isinstance(exc, CircuitOpen)
        response = error_response(exc.status, exc.code, exc.detail)
        response.headers["Retry-After"] = str(max(1, math.ceil(breakers[exc.upstream].retry_in())))
        return response

    app.exception_handlers[HTTPException] = not_found
    app.exception_handlers[CircuitOpen] = circuit_open
    app.state.breakers = breakers
    return app
