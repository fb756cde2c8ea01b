"""A fault-injecting TCP proxy for one link: partition (blackhole or reset), latency, bandwidth, heal.

A cut acts on the connections already open, not only on new ones: a pooled client (aiohttp,
a database driver) keeps its connections for minutes, and a partition that spared them would
test nothing.

- blackhole: bytes stop flowing both ways and new connections are accepted but never
  answered. Bytes are held, not dropped, as TCP would retransmit them, so after a heal the
  surviving connections carry on where they stopped.
- reset: every open connection is closed with a RST, and new ones are reset on accept.
- latency: each chunk from the target back to the client is delayed by `ms`, so every
  request/response round trip takes at least that much longer.
- bandwidth: each direction carries at most `kbps` kilobits a second (0 = unlimited).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from enum import StrEnum
from typing import Any

from retailflow.runtime.errors import ControlError

__all__ = ["LinkProxy", "LinkState"]

log = logging.getLogger("retailflow.runtime.link")
CHUNK = 64 * 1024
CONNECT_TIMEOUT_S = 5.0
MAX_LATENCY_MS = 60_000
MAX_KBPS = 10_000_000


class LinkState(StrEnum):
    OK = "ok"
    BLACKHOLE = "blackhole"
    RESET = "reset"


def _abort_with_rst(writer: asyncio.StreamWriter | None) -> None:
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # SO_LINGER 0: close() sends a RST instead of a FIN, as a dropped route would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _whole_number(value: object, maximum: int, refusal: str, *, code: str) -> int:
    """`value` if it is a whole number from 0 to `maximum` (a bool is not); else a 422 `refusal`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ControlError(refusal, code=code, status=422)
    return value


class _Connection:
    __slots__ = ("client", "task", "upstream")

    def __init__(self, client: asyncio.StreamWriter, task: asyncio.Task[Any] | None) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.task = task

    def reset(self) -> None:
        _abort_with_rst(self.client)
        _abort_with_rst(self.upstream)
        if self.task is not None:
            self.task.cancel()


class LinkProxy:
    """Listens on 127.0.0.1 and forwards each connection to `target_host:target_port`."""

    def __init__(self, name: str, target_host: str, target_port: int, *, listen_port: int = 0) -> None:
        self.name = name
        self.target_host = target_host
        self.target_port = target_port
        self.state = LinkState.OK
        self.latency_ms = 0
        self.bandwidth_kbps = 0
        self.changed_at = time.time()
        self._listen_port = listen_port
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self.accepted = 0

    @property
    def listen_port(self) -> int:
        return self._listen_port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._listen_port, backlog=1024)
        self._listen_port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.reset()
        self._connections.clear()

    # -- faults ------------------------------------------------------------------------------

    def cut(self, mode: str) -> None:
        try:
            state = LinkState(mode)
        except ValueError:
            raise ControlError(
                f"mode {mode!r} is not a partition; use 'blackhole' or 'reset'", code="invalid_mode", status=422
            ) from None
        if state is LinkState.OK:
            raise ControlError("mode 'ok' is not a partition; heal the link instead", code="invalid_mode", status=422)
        self.state = state
        self._flowing.clear()
        if state is LinkState.RESET:
            for conn in list(self._connections):
                conn.reset()
            self._connections.clear()
        self._changed("link cut", mode=mode)

    def set_latency(self, ms: int) -> None:
        refusal = f"latency {ms!r} must be a whole number of ms between 0 and {MAX_LATENCY_MS}"
        self.latency_ms = _whole_number(ms, MAX_LATENCY_MS, refusal, code="invalid_latency")
        self._changed("link latency", ms=ms)

    def limit_bandwidth(self, kbps: int) -> None:
        refusal = f"bandwidth {kbps!r} must be a whole number of kbit/s between 0 (unlimited) and {MAX_KBPS}"
        self.bandwidth_kbps = _whole_number(kbps, MAX_KBPS, refusal, code="invalid_bandwidth")
        self._changed("link bandwidth", kbps=kbps)

    def heal(self) -> None:
        self.state = LinkState.OK
        self.latency_ms = 0
        self.bandwidth_kbps = 0
        self._flowing.set()
        self._changed("link healed")

    def _changed(self, event: str, **detail: object) -> None:
        """Every fault set or healed is stamped (the snapshot's `changed_at`) and logged."""
        self.changed_at = time.time()
        log.warning(event, extra={"link": self.name, **detail})

    def snapshot(self, src: str, dst: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "src": src,
            "dst": dst,
            "listen": f"127.0.0.1:{self.listen_port}",
            "target": f"{self.target_host}:{self.target_port}",
            "state": str(self.state),
            "latency_ms": self.latency_ms,
            "bandwidth_kbps": self.bandwidth_kbps,
            "connections": len(self._connections),
            "accepted": self.accepted,
        }

    # -- forwarding --------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.state is LinkState.RESET:
            _abort_with_rst(writer)
            return
        conn = _Connection(writer, asyncio.current_task())
        self._connections.add(conn)
        try:
            await self._flowing.wait()  # a blackhole holds new connections unanswered
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(self.target_host, self.target_port), CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                _abort_with_rst(writer)  # the target is down: the client sees a refused/reset connection
                return
            conn.upstream = up_writer
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(reader, up_writer, delayed=False))
                group.create_task(self._pump(up_reader, writer, delayed=True))
        except* (OSError, asyncio.IncompleteReadError):
            conn.reset()  # one side reset: reset the other, as a router would not hide it
        finally:
            self._connections.discard(conn)
            for w in (writer, conn.upstream):
                if w is not None and not w.transport.is_closing():
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool) -> None:
        # Reading and writing are separate tasks joined by a queue, so latency delays each chunk
        # without limiting throughput to one chunk per `latency_ms`.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=64)

        async def read_side() -> None:
            while True:
                data = await reader.read(CHUNK)
                await self._flowing.wait()  # a cut holds what was read until the heal
                due = time.monotonic() + (self.latency_ms / 1000 if delayed else 0.0)
                await queue.put((due, data))
                if not data:
                    return

        async def write_side() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()  # half-close: the other direction may still carry bytes
                    return
                if self.bandwidth_kbps:  # store and forward: a chunk arrives once the slow wire carried it
                    await asyncio.sleep(len(data) * 8 / (self.bandwidth_kbps * 1000))
                writer.write(data)
                await writer.drain()

        async with asyncio.TaskGroup() as group:
            group.create_task(read_side())
            group.create_task(write_side())
