"""The service app's own answers, driven through the real Starlette app over ASGI: /readyz names
the failing check and why, one handler per domain error family answers for the whole family, a
store failure is a 503 in every service, and errors a service lives with are counted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailflow.catalog.domain.errors import UnknownProduct
from retailflow.catalog.entrypoints.http import ERROR_HANDLERS as CATALOG_ERRORS
from retailflow.common import handled as handled_module
from retailflow.common import web
from retailflow.common.background import BackgroundTasks
from retailflow.common.cache import RedisCache
from retailflow.common.db import DatabaseError
from retailflow.common.handled import HANDLED_ERRORS, handled
from retailflow.orders.entrypoints.http import ERROR_HANDLERS as ORDERS_ERRORS
from retailflow.orders.service_layer.handlers import KeyReused
from retailflow.orders.service_layer.ports import StockAlreadyCommitted, UpstreamFailed


async def call(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI app, as uvicorn would send it."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000), "root_path": ""}  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def raising(exc: Exception) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raise exc

    return endpoint


def count(where: str) -> float:
    return HANDLED_ERRORS.labels(where)._value.get()


def test_readyz_names_each_failing_check_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "READY_CHECK_TIMEOUT_S", 0.2)

    async def fine() -> bool:
        return True

    async def refused() -> bool:
        raise ConnectionRefusedError("connection refused by 127.0.0.1:6379")

    async def hangs() -> bool:
        await asyncio.sleep(60)
        return True

    async def says_no() -> bool:
        return False

    checks = {"store": fine, "cache": refused, "bus": hangs, "carts": says_no}
    status, body = asyncio.run(call(web.create_service_app("orders", [], ready_checks=checks), "/readyz"))
    assert status == 503
    assert orjson.loads(body) == {
        "ready": False,
        "checks": {"store": True, "cache": False, "bus": False, "carts": False},
        "failed": {
            "cache": "ConnectionRefusedError: connection refused by 127.0.0.1:6379",
            "bus": "did not answer within 0.2 s",
            "carts": "answered not ready",
        },
    }
    status, body = asyncio.run(call(web.create_service_app("orders", [], ready_checks={"store": fine}), "/readyz"))
    assert (status, orjson.loads(body)) == (200, {"ready": True, "checks": {"store": True}})


def test_one_handler_answers_for_a_whole_domain_error_family(caplog: pytest.LogCaptureFixture) -> None:
    routes = [
        Route("/unknown", raising(UnknownProduct("SKU-9"))),
        Route("/reused", raising(KeyReused("key k-1 was used for another request"))),
        Route("/upstream", raising(UpstreamFailed("inventory did not answer"))),
        Route("/unexpected", raising(StockAlreadyCommitted("o-1"))),
        Route("/store", raising(DatabaseError("sqlite: disk I/O error"))),
    ]
    catalog = web.create_service_app("catalog", routes, error_handlers=CATALOG_ERRORS)
    orders = web.create_service_app("orders", routes, error_handlers=ORDERS_ERRORS)
    status, body = asyncio.run(call(catalog, "/unknown"))
    assert (status, orjson.loads(body)) == (404, {"error": "unknown_sku", "detail": "no product with sku 'SKU-9'",
                                                  "sku": "SKU-9"})  # fmt: skip
    status, body = asyncio.run(call(orders, "/reused"))
    assert (status, orjson.loads(body)["error"]) == (422, "idempotency_key_reused")
    status, body = asyncio.run(call(orders, "/upstream"))
    assert (status, orjson.loads(body)["error"]) == (503, "upstream_unavailable")
    with caplog.at_level(logging.ERROR, logger="retailflow.http"):
        status, body = asyncio.run(call(orders, "/unexpected"))
    assert (status, orjson.loads(body)["error"]) == (500, "internal")
    assert any(r.exc_info and isinstance(r.exc_info[1], StockAlreadyCommitted) for r in caplog.records)
    # A store failure is the same 503 in every service, naming it.
    for service, app in (("catalog", catalog), ("orders", orders)):
        status, body = asyncio.run(call(app, "/store"))
        assert (status, orjson.loads(body)) == (
            503, {"error": "store_unavailable", "detail": f"the {service} store failed: sqlite: disk I/O error"}
        )  # fmt: skip


def test_a_handled_error_is_counted_every_time_and_logged_with_its_context_at_most_every_10_s(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handled_module, "_last_logged", {})
    monkeypatch.setattr(handled_module, "_unlogged", {})
    before = count("test.place")
    with caplog.at_level(logging.WARNING, logger="retailflow.handled"):
        for _ in range(3):
            handled("test.place", TimeoutError("no answer in 0.5 s"), key="rf:catalog:x")
    assert count("test.place") - before == 3
    [record] = [r for r in caplog.records if r.name == "retailflow.handled"]
    assert record.getMessage() == "test.place failed: TimeoutError: no answer in 0.5 s"
    assert record.key == "rf:catalog:x"  # type: ignore[attr-defined]
    _, body = asyncio.run(call(web.create_service_app("gateway", []), "/metrics"))
    assert b'retailflow_handled_errors_total{where="test.place"}' in body


def test_a_redis_outage_is_a_miss_that_is_counted_and_readiness_says_why() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", "rf:test:")  # nothing listens on port 1

    async def go() -> None:
        before = {op: count(f"cache.{op}") for op in ("get", "set", "delete")}
        assert await cache.get("k") is None
        await cache.set("k", {"v": 1}, 5)
        await cache.delete("k")
        assert {op: count(f"cache.{op}") - n for op, n in before.items()} == {"get": 1, "set": 1, "delete": 1}
        with pytest.raises(Exception, match=r"(?i)connect"):
            await cache.ping()
        await cache.close()

    asyncio.run(go())


def test_a_crashed_background_loop_is_logged_counted_and_fails_readiness(caplog: pytest.LogCaptureFixture) -> None:
    async def crashes() -> None:
        await asyncio.sleep(0)
        raise KeyError("offset")

    async def runs_forever() -> None:
        await asyncio.Event().wait()

    async def refuses_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("could not flush on the way out")

    async def go() -> None:
        tasks = BackgroundTasks()
        before = count("task.relay"), count("task.stubborn")
        tasks.start("relay", crashes())
        tasks.start("reaper", runs_forever())
        tasks.start("stubborn", refuses_to_stop())
        for _ in range(10):
            await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match=r"^relay crashed: KeyError: 'offset'$"):
            await tasks.ready()
        await tasks.stop()
        assert (count("task.relay"), count("task.stubborn")) == (before[0] + 1, before[1] + 1)

    with caplog.at_level(logging.ERROR, logger="retailflow.background"):
        asyncio.run(go())
    messages = [r.getMessage() for r in caplog.records if r.name == "retailflow.background"]
    assert messages == ["background task relay crashed", "background task stubborn failed while stopping"]


def test_all_is_ready_while_every_background_loop_runs() -> None:
    async def go() -> bool:
        tasks = BackgroundTasks()
        tasks.start("reaper", asyncio.Event().wait())
        await asyncio.sleep(0)
        ready = await tasks.ready()
        await tasks.stop()
        return ready

    assert asyncio.run(go()) is True
