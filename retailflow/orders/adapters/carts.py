"""Cart stores: a table in the orders store (embedded profile) or Redis (services profile).

A cart is one JSON document; a shopper edits their own cart, so last write wins is enough.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from retailflow.common.db import Database
from retailflow.common.errors import ServiceUnavailable
from retailflow.orders.domain.cart import Cart, CartLine
from retailflow.orders.service_layer.ports import CartRepository

__all__ = ["CART_TTL_S", "RedisCartRepository", "SqlCartRepository", "create_cart_schema"]

CART_TTL_S = 7 * 24 * 3600


def create_cart_schema(db: Database) -> None:
    db.script(
        "CREATE TABLE IF NOT EXISTS carts (cart_id VARCHAR(64) PRIMARY KEY, doc TEXT NOT NULL, "
        "updated_at DOUBLE PRECISION NOT NULL)"
    )


def _dump(cart: Cart) -> bytes:
    return orjson.dumps({"items": cart.items(), "order_id": cart.order_id})


def _load(cart_id: str, raw: bytes | str) -> Cart:
    doc: dict[str, Any] = orjson.loads(raw)
    lines = {i["sku"]: CartLine(i["sku"], int(i["qty"]), int(i["price_cents"]), i["name"]) for i in doc["items"]}
    return Cart(cart_id, lines, doc.get("order_id"))


class SqlCartRepository(CartRepository):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, cart: Cart) -> None:
        self.db.execute(
            "INSERT INTO carts (cart_id, doc, updated_at) VALUES (?, ?, ?)",
            (cart.cart_id, _dump(cart).decode(), time.time()),
        )

    async def get(self, cart_id: str) -> Cart | None:
        row = self.db.fetchone("SELECT doc FROM carts WHERE cart_id = ?", (cart_id,))
        return _load(cart_id, row["doc"]) if row else None

    async def save(self, cart: Cart) -> None:
        self.db.execute(
            "UPDATE carts SET doc = ?, updated_at = ? WHERE cart_id = ?",
            (_dump(cart).decode(), time.time(), cart.cart_id),
        )


@asynccontextmanager
async def _redis_errors() -> AsyncIterator[None]:
    import redis

    try:
        yield
    except (redis.RedisError, OSError) as exc:
        raise ServiceUnavailable(f"the cart store (redis) failed: {exc}", code="carts_unavailable") from exc


class RedisCartRepository(CartRepository):
    """Carts shared by every replica; each write renews the cart's week-long expiry."""

    def __init__(self, url: str, prefix: str = "rf:orders:cart:") -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    async def create(self, cart: Cart) -> None:
        async with _redis_errors():
            await self.redis.set(self.prefix + cart.cart_id, _dump(cart), ex=CART_TTL_S)

    async def get(self, cart_id: str) -> Cart | None:
        async with _redis_errors():
            raw = await self.redis.get(self.prefix + cart_id)
        return _load(cart_id, raw) if raw is not None else None

    async def save(self, cart: Cart) -> None:
        async with _redis_errors():
            await self.redis.set(self.prefix + cart.cart_id, _dump(cart), ex=CART_TTL_S)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())  # /readyz reports the error itself

    async def close(self) -> None:
        await self.redis.aclose()
