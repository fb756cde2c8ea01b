"""Read-through cache: in-process (embedded profile) or Redis (services profile)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from retailflow.common.handled import handled

__all__ = ["Cache", "LocalCache", "RedisCache", "make_cache"]


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def set(self, key: str, value: Any, ttl_s: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class LocalCache:
    """A bounded LRU with per-entry expiry, private to one replica."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.max_entries = max_entries

    async def get(self, key: str) -> Any | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        self._data.move_to_end(key)
        return value

    async def set(self, key: str, value: Any, ttl_s: float) -> None:
        self._data[key] = (time.monotonic() + ttl_s, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    """Shared across replicas; values are JSON. A Redis outage degrades to misses, not errors:
    each failure is logged and counted (`retailflow_handled_errors_total{where="cache.<op>"}`)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    async def get(self, key: str) -> Any | None:
        try:
            raw = await self._redis.get(self.prefix + key)
        except Exception as exc:
            handled("cache.get", exc, key=self.prefix + key)
            return None
        try:
            return orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError as exc:  # not ours, or cut short: a miss, and said so
            handled("cache.get", exc, key=self.prefix + key)
            return None

    async def set(self, key: str, value: Any, ttl_s: float) -> None:
        try:
            await self._redis.set(self.prefix + key, orjson.dumps(value), px=max(1, int(ttl_s * 1000)))
        except Exception as exc:
            handled("cache.set", exc, key=self.prefix + key)

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self.prefix + key)
        except Exception as exc:
            handled("cache.delete", exc, key=self.prefix + key)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())  # /readyz reports the error itself

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(url: str | None, prefix: str) -> Cache:
    return RedisCache(url, prefix) if url else LocalCache()


async def cached(cache: Cache, key: str, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> Any:
    """Read through: the cached value, or `load()` stored for `ttl_s` (0 or less: not stored)."""
    value = await cache.get(key)
    if value is None:
        value = await load()
        if value is not None and ttl_s > 0:
            await cache.set(key, value, ttl_s)
    return value
