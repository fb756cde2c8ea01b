"""The link proxy with real loopback sockets: forward, blackhole, reset, latency, heal.

A cut must act on connections already open (pooled clients keep theirs for minutes), so each
fault is checked on a connection opened before the cut as well as on a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from retailflow.runtime.errors import ControlError
from retailflow.runtime.linkproxy import LinkProxy, LinkState

HOLD_S = 0.5  # how long "nothing arrives" is watched; bytes arrive in well under 1 ms otherwise
DEADLINE_S = 10.0  # generous: the machine is shared


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The supervisor runs on uvloop; the proxy must behave the same on both loops."""
    return str(request.param)


def run(coro_fn: Callable[[], Awaitable[None]], loop_kind: str) -> None:
    if loop_kind == "uvloop":
        import uvloop

        uvloop.run(asyncio.wait_for(coro_fn(), 60))  # type: ignore[arg-type]
    else:
        asyncio.run(asyncio.wait_for(coro_fn(), 60))


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@asynccontextmanager
async def echo_through_link() -> AsyncIterator[LinkProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = LinkProxy("test->echo", "127.0.0.1", port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
        server.close()


async def connect(proxy: LinkProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.listen_port)


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> bytes:
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(payload)), DEADLINE_S)


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        await asyncio.wait_for(reader.read(1), HOLD_S)
    except TimeoutError:
        return True
    return False  # bytes (or an EOF) came through


def test_bytes_flow_both_ways_through_a_healthy_link(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            reader, writer = await connect(proxy)
            assert await roundtrip(reader, writer, b"ping") == b"ping"
            big = bytes(range(256)) * 4096  # 1 MiB: several chunks, in order
            assert await roundtrip(reader, writer, big) == big
            assert proxy.snapshot("test", "echo")["connections"] == 1
            writer.close()

    run(scenario, loop_kind)


def test_blackhole_holds_bytes_of_an_open_connection_and_delivers_them_after_heal(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            reader, writer = await connect(proxy)
            assert await roundtrip(reader, writer, b"before") == b"before"
            proxy.cut("blackhole")
            writer.write(b"during")
            await writer.drain()
            assert await nothing_arrives(reader), "a blackholed link let bytes through"
            proxy.heal()
            assert await asyncio.wait_for(reader.readexactly(6), DEADLINE_S) == b"during"
            assert await roundtrip(reader, writer, b"after") == b"after"
            writer.close()

    run(scenario, loop_kind)


def test_blackhole_accepts_new_connections_but_never_answers_until_heal(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            proxy.cut("blackhole")
            reader, writer = await connect(proxy)  # accepted: the client cannot tell a partition from a slow peer
            writer.write(b"hello")
            await writer.drain()
            assert await nothing_arrives(reader)
            proxy.heal()
            assert await asyncio.wait_for(reader.readexactly(5), DEADLINE_S) == b"hello"
            writer.close()

    run(scenario, loop_kind)


def test_reset_kills_open_connections_with_a_reset_and_refuses_new_ones(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            reader, writer = await connect(proxy)
            assert await roundtrip(reader, writer, b"x") == b"x"
            proxy.cut("reset")
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(reader.read(1), DEADLINE_S)
            new_reader, _ = await connect(proxy)
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(new_reader.read(1), DEADLINE_S)
            assert proxy.snapshot("test", "echo")["state"] == "reset"
            proxy.heal()
            reader, writer = await connect(proxy)
            assert await roundtrip(reader, writer, b"back") == b"back"
            writer.close()

    run(scenario, loop_kind)


def test_latency_delays_every_round_trip_on_open_connections_and_heal_removes_it(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            reader, writer = await connect(proxy)
            await roundtrip(reader, writer, b"warm")
            proxy.set_latency(600)  # twice the "fast" bound below: a busy machine cannot blur the two
            for _ in range(2):
                start = time.monotonic()
                await roundtrip(reader, writer, b"slow")
                assert time.monotonic() - start >= 0.6
            proxy.heal()
            start = time.monotonic()
            await roundtrip(reader, writer, b"fast")
            assert time.monotonic() - start < 0.3
            assert proxy.snapshot("test", "echo")["latency_ms"] == 0
            writer.close()

    run(scenario, loop_kind)


def test_a_bandwidth_limit_paces_bulk_transfers_and_heal_lifts_it(loop_kind: str) -> None:
    async def scenario() -> None:
        async with echo_through_link() as proxy:
            reader, writer = await connect(proxy)
            payload = b"x" * 32 * 1024  # 256 kbit each way
            proxy.limit_bandwidth(512)  # 0.5 s a direction at the limit
            start = time.monotonic()
            assert await roundtrip(reader, writer, payload) == payload
            assert time.monotonic() - start >= 0.8
            proxy.heal()
            start = time.monotonic()
            await roundtrip(reader, writer, payload)
            assert time.monotonic() - start < 0.5
            assert proxy.snapshot("test", "echo")["bandwidth_kbps"] == 0
            writer.close()

    run(scenario, loop_kind)


def test_a_down_target_resets_the_client_instead_of_hanging_it(loop_kind: str) -> None:
    async def scenario() -> None:
        proxy = LinkProxy("test->nothing", "127.0.0.1", 1)  # nothing listens on port 1
        await proxy.start()
        try:
            reader, _ = await connect(proxy)
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(reader.read(1), DEADLINE_S)
        finally:
            await proxy.close()

    run(scenario, loop_kind)


def test_bad_fault_parameters_are_refused_with_the_value_named() -> None:
    proxy = LinkProxy("test->echo", "127.0.0.1", 1)
    with pytest.raises(ControlError, match="mode 'partial' is not a partition"):
        proxy.cut("partial")
    with pytest.raises(ControlError, match="latency -5 must be a whole number of ms"):
        proxy.set_latency(-5)
    with pytest.raises(ControlError, match="bandwidth -1 must be a whole number of kbit/s"):
        proxy.limit_bandwidth(-1)
    with pytest.raises(ControlError, match="latency '100' must be"):
        proxy.set_latency("100")  # type: ignore[arg-type]
    assert proxy.state is LinkState.OK and proxy.latency_ms == 0
