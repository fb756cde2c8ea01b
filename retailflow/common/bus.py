"""The service bus: events published from outboxes reach consumer groups at least once.

- embedded: a shared SQLite log under the data dir (`bus.db`) with a per-group offset;
- services: RabbitMQ (a durable topic exchange, a durable queue per group and topic) or
  NATS JetStream (one stream, a durable consumer per group).

Delivery is at least once everywhere; consumers drop duplicates by `msg_id`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from retailflow.common.background import BackgroundTasks
from retailflow.common.db import Database
from retailflow.common.handled import handled

__all__ = ["Bus", "BusMessage", "EmbeddedBus", "NatsBus", "RabbitBus", "make_bus"]


@dataclass(frozen=True)
class BusMessage:
    msg_id: str
    topic: str
    payload: dict[str, Any]


Handler = Callable[[BusMessage], Awaitable[None]]


class Bus(Protocol):
    async def publish(self, topic: str, msg_id: str, payload: dict[str, Any]) -> None: ...
    async def subscribe(self, topic: str, group: str, handler: Handler) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class EmbeddedBus:
    """The bus on SQLite tables: a log of messages and each group's offset in it."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, msg_id TEXT UNIQUE NOT NULL,
        topic TEXT NOT NULL, payload TEXT NOT NULL, published_at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS messages_topic ON messages (topic, seq);
    CREATE TABLE IF NOT EXISTS offsets (grp TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (grp, topic))
    """

    def __init__(self, path: Path, poll_s: float = 0.05) -> None:
        self.db = Database(f"sqlite:///{path}")
        self.poll_s = poll_s
        self._consumers = BackgroundTasks()
        self._ready = False

    def _schema(self) -> None:
        if not self._ready:
            self.db.script(self.SCHEMA)
            self._ready = True

    async def publish(self, topic: str, msg_id: str, payload: dict[str, Any]) -> None:
        self._schema()
        self.db.execute(
            "INSERT OR IGNORE INTO messages (msg_id, topic, payload, published_at) VALUES (?, ?, ?, ?)",
            (msg_id, topic, orjson.dumps(payload).decode(), time.time()),
        )

    async def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        self._schema()
        self.db.execute("INSERT OR IGNORE INTO offsets (grp, topic, seq) VALUES (?, ?, 0)", (group, topic))
        self._consumers.start(f"bus-consumer-{group}-{topic}", self._consume(topic, group, handler))

    async def _consume(self, topic: str, group: str, handler: Handler) -> None:
        while True:
            try:
                row = self.db.fetchone("SELECT seq FROM offsets WHERE grp = ? AND topic = ?", (group, topic))
                offset = int(row["seq"]) if row else 0
                batch = self.db.fetchall(
                    "SELECT seq, msg_id, payload FROM messages WHERE topic = ? AND seq > ? ORDER BY seq LIMIT 100",
                    (topic, offset),
                )
                for item in batch:
                    await handler(BusMessage(item["msg_id"], topic, orjson.loads(item["payload"])))
                    # Advance only from where we started: a competing replica that moved first wins,
                    # and the duplicate it may cause is dropped by the idempotent consumer.
                    self.db.execute(
                        "UPDATE offsets SET seq = ? WHERE grp = ? AND topic = ? AND seq = ?",
                        (item["seq"], group, topic, offset),
                    )
                    offset = item["seq"]
                if not batch:
                    await asyncio.sleep(self.poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                handled("bus.consume", exc, topic=topic, group=group)  # then retried
                await asyncio.sleep(1.0)

    async def ping(self) -> bool:
        await self._consumers.ready()  # a consumer that died leaves messages unread
        return self.db.ping()

    async def close(self) -> None:
        await self._consumers.stop()
        self.db.close()


class RabbitBus:
    def __init__(self, url: str, namespace: str = "retailflow") -> None:
        self.url = url
        self.namespace = namespace
        self._conn: Any = None
        self._channel: Any = None
        self._exchange: Any = None

    async def _connect(self) -> None:
        if self._exchange is not None:
            return
        import aio_pika

        self._conn = await aio_pika.connect_robust(self.url, timeout=5)
        self._channel = await self._conn.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=50)
        self._exchange = await self._channel.declare_exchange(self.namespace, aio_pika.ExchangeType.TOPIC, durable=True)

    async def publish(self, topic: str, msg_id: str, payload: dict[str, Any]) -> None:
        import aio_pika

        await self._connect()
        message = aio_pika.Message(
            orjson.dumps(payload),
            message_id=msg_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
        )
        await self._exchange.publish(message, routing_key=topic)

    async def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        await self._connect()
        queue = await self._channel.declare_queue(f"{self.namespace}.{group}.{topic}", durable=True)
        await queue.bind(self._exchange, routing_key=topic)

        async def on_message(message: Any) -> None:
            async with message.process(requeue=True):
                await handler(BusMessage(message.message_id or "", topic, orjson.loads(message.body)))

        await queue.consume(on_message)

    async def ping(self) -> bool:
        await self._connect()  # /readyz reports a failure itself
        return not self._conn.is_closed

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class NatsBus:
    def __init__(self, url: str, namespace: str = "retailflow") -> None:
        self.url = url
        self.prefix = namespace.replace(".", "_")
        self.stream = self.prefix.upper().replace("-", "_")
        self._nc: Any = None
        self._js: Any = None

    async def _connect(self) -> None:
        if self._js is not None:
            return
        import nats
        from nats.js.errors import NotFoundError

        if self._nc is None:
            self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=-1)
        js = self._nc.jetstream()
        try:
            try:
                await js.stream_info(self.stream)
            except NotFoundError:  # the first replica of a new shop creates it; the same config again is a no-op
                await js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])
        except Exception as exc:
            handled("bus.stream_setup", exc, stream=self.stream, url=self.url)
            raise
        self._js = js  # only once the stream exists: a failed set-up is tried again on the next call

    async def publish(self, topic: str, msg_id: str, payload: dict[str, Any]) -> None:
        await self._connect()
        await self._js.publish(f"{self.prefix}.{topic}", orjson.dumps(payload), headers={"Nats-Msg-Id": msg_id})

    async def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        await self._connect()

        async def on_message(msg: Any) -> None:
            msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
            await handler(BusMessage(msg_id, topic, orjson.loads(msg.data)))
            await msg.ack()

        await self._js.subscribe(
            f"{self.prefix}.{topic}",
            durable=f"{group}-{topic}",
            queue=f"{group}-{topic}",
            cb=on_message,
            manual_ack=True,
        )

    async def ping(self) -> bool:
        await self._connect()  # /readyz reports a failure itself
        return bool(self._nc.is_connected)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()


def make_bus(url: str | None, data_dir: Path, namespace: str = "retailflow") -> Bus:
    if not url:
        return EmbeddedBus(data_dir / "bus.db")
    if url.startswith("amqp"):
        return RabbitBus(url, namespace)
    return NatsBus(url, namespace)
