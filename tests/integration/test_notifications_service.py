"""Notifications as a real process: order events from the bus become one message per order,
and a redelivered event (same event id, even under a new bus message id) is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from retailflow.common.bus import EmbeddedBus
from tests.support.fuzz import assert_no_server_error
from tests.support.processes import ServiceProcess, run_service, wait_until
from tests.support.servers import fresh_postgres


@pytest.fixture(scope="module", params=["embedded", pytest.param("postgresql", marks=pytest.mark.services)])
def notifications(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, Path]]:
    """Two replicas; the messages in SQLite or PostgreSQL. The bus stays the embedded one: a broker's
    group queue is shared by every shop on it, so a test could not tell its events from others'."""
    data_dir = tmp_path_factory.mktemp(f"notifications-{request.param}")
    with ExitStack() as stack:
        env = {} if request.param == "embedded" else {"RF_DB_URL": stack.enter_context(fresh_postgres())}
        replicas = stack.enter_context(run_service("notifications", data_dir, env, replicas=2))
        yield replicas[0], data_dir


def publish(data_dir: Path, messages: list[tuple[str, dict[str, Any]]]) -> None:
    async def go() -> None:
        bus = EmbeddedBus(data_dir / "bus.db")
        for msg_id, payload in messages:
            await bus.publish("orders", msg_id, payload)
        await bus.close()

    asyncio.run(go())


def event(order_id: str, seq: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"event_id": f"{order_id}:{seq}", "type": kind, "order_id": order_id, "seq": seq, "data": data}


def notes(proc: ServiceProcess, order_id: str) -> list[dict[str, Any]]:
    body = requests.get(f"{proc.url}/notifications", params={"order_id": order_id}, timeout=10).json()
    return list(body["items"])


def test_a_redelivered_event_is_dropped_and_each_order_gets_one_message(
    notifications: tuple[ServiceProcess, Path],
) -> None:
    proc, data_dir = notifications
    confirmed = event("o-1", 6, "OrderConfirmed", total_cents=2599)
    failed = event("o-2", 3, "OrderFailed", reason="sold_out", sku="SKU-000001")
    publish(
        data_dir,
        [
            ("orders:1", event("o-1", 1, "OrderPlaced")),  # not a notification
            ("orders:6", confirmed),
            ("orders:6b", confirmed),  # the outbox re-published the same event under a new message id
            ("orders:9", failed),
            ("orders:9", failed),  # the bus itself delivering twice
            ("orders:10", {"type": "OrderConfirmed"}),  # malformed: no order id, must not stop the consumer
            ("orders:11", event("o-3", 6, "OrderConfirmed", total_cents=100)),
        ],
    )
    wait_until(lambda: notes(proc, "o-3"), timeout=30, what="the last event consumed")
    [one] = notes(proc, "o-1")
    assert one["kind"] == "order_confirmed" and one["message"] == "Your order o-1 is confirmed: $25.99 will be charged."
    [two] = notes(proc, "o-2")
    assert two["message"] == "Your order o-2 could not be completed: an item sold out before we could reserve it."
    assert len(requests.get(f"{proc.url}/notifications", timeout=10).json()["items"]) == 3


def test_an_order_without_messages_is_an_empty_list_and_a_bad_limit_is_a_400(
    notifications: tuple[ServiceProcess, Path],
) -> None:
    proc, _ = notifications
    assert notes(proc, "never-placed") == []
    assert notes(proc, "x" * 500) == []
    resp = requests.get(f"{proc.url}/notifications", params={"limit": "-1"}, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"] == "bad_request"
    assert "'limit' must be between 1 and 500" in resp.json()["detail"]


def test_schemathesis_finds_no_server_error(
    notifications: tuple[ServiceProcess, Path], request: pytest.FixtureRequest
) -> None:
    if "postgresql" in request.node.callspec.id:
        pytest.skip("the API is the same on both stores; fuzzed once, on SQLite")
    proc, _ = notifications
    assert_no_server_error(f"{proc.url}/openapi.json")
