"""Rate limiting per client IP: a token bucket each, as pure ASGI middleware.

Each gateway replica keeps its own buckets (no shared store on the hot path), so the limit a
client sees is per replica; it protects the shop from one runaway client, not a quota.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection

import orjson
from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RateLimitMiddleware", "RateLimiter"]


class RateLimiter:
    """`rate` tokens per second per key, at most `burst` saved up."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a rate limiter needs rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill]

    def acquire(self, key: str) -> float:
        """Take a token for `key`: 0.0 when allowed, else the seconds until a token is due."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle(now)
            bucket = self._buckets[key] = [self.burst, now]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # a bucket that has refilled completely holds no information; drop those, or all if none is
        full_after = self.burst / self.rate
        idle = [k for k, (_, last) in self._buckets.items() if now - last >= full_after]
        for key in idle or list(self._buckets):
            del self._buckets[key]


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        registry: CollectorRegistry,
        exempt: Collection[str] = ("/healthz", "/readyz", "/metrics"),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = frozenset(exempt)
        self.limited = Counter(
            "gateway_rate_limited_total", "requests answered 429 by the rate limiter", registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        wait = self.limiter.acquire(ip)
        if not wait:
            await self.app(scope, receive, send)
            return
        self.limited.inc()
        retry_after = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "error": "rate_limited",
                "detail": f"more than {self.limiter.rate:g} requests/s from {ip}; retry in {retry_after}s",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
