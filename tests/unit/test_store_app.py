"""The store wiring the services share: the store is open exactly while the app serves, and it is
closed last whatever fails on the way out; the schema and bus helpers handle only what they say."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database, DatabaseError
from retailflow.common.handled import HANDLED_ERRORS
from retailflow.common.store_app import close_bus, create_schema_unless_seeded, create_store_app, opened


class RecordingDatabase(Database):
    def __init__(self, path: Path, events: list[str]) -> None:
        super().__init__(f"sqlite:///{path}")
        self.events = events

    def connect(self) -> Database:
        self.events.append("connect")
        return super().connect()

    def close(self) -> None:
        self.events.append("close")
        super().close()


def _serve_once(db: Database, events: list[str], **steps: object) -> None:
    app = create_store_app("payments", [], db, ServiceConfig(service="payments"), **steps)  # type: ignore[arg-type]

    async def run() -> None:
        async with app.router.lifespan_context(app):
            events.append("serving")

    asyncio.run(run())


def test_the_store_is_connected_before_start_and_closed_after_stop(tmp_path: Path) -> None:
    events: list[str] = []
    db = RecordingDatabase(tmp_path / "s.db", events)

    async def start() -> None:
        events.append(f"start (store answers: {db.ping()})")

    async def stop() -> None:
        events.append("stop")

    _serve_once(db, events, on_start=start, on_stop=stop)
    assert events == ["connect", "start (store answers: True)", "serving", "stop", "close"]


def test_a_failing_stop_still_closes_the_store_and_is_not_hidden(tmp_path: Path) -> None:
    events: list[str] = []
    db = RecordingDatabase(tmp_path / "s.db", events)

    async def stop() -> None:
        raise RuntimeError("the relay would not stop")

    with pytest.raises(RuntimeError, match="the relay would not stop"):
        _serve_once(db, events, on_stop=stop)
    assert events == ["connect", "serving", "close"]


def test_a_failing_start_is_undone_by_stop_and_never_serves(tmp_path: Path) -> None:
    events: list[str] = []
    db = RecordingDatabase(tmp_path / "s.db", events)

    async def start() -> None:
        raise RuntimeError("the bus refused the subscription")

    async def stop() -> None:
        events.append("stop")

    with pytest.raises(RuntimeError, match="refused the subscription"):
        _serve_once(db, events, on_start=start, on_stop=stop)
    assert events == ["connect", "stop", "close"]


def test_opened_closes_the_store_when_the_block_fails(tmp_path: Path) -> None:
    events: list[str] = []
    with pytest.raises(ValueError, match="seed data"), opened(RecordingDatabase(tmp_path / "s.db", events)):
        raise ValueError("bad seed data")
    assert events == ["connect", "close"]


def test_a_schema_the_store_refuses_is_logged_as_left_to_the_seed_job(caplog: pytest.LogCaptureFixture) -> None:
    def create() -> None:
        raise DatabaseError("permission denied for schema orders")

    with caplog.at_level(logging.WARNING, logger="retailflow.orders"):
        create_schema_unless_seeded("orders", create)
    assert "creating the orders schema failed; assuming the seed job made it" in caplog.text


def test_a_schema_step_that_fails_for_another_reason_is_raised() -> None:
    def create() -> None:
        raise TypeError("a bug, not the store")

    with pytest.raises(TypeError, match="a bug, not the store"):
        create_schema_unless_seeded("orders", create)


class _StuckBus:
    async def close(self) -> None:
        raise ConnectionError("broker gone")


def test_a_bus_that_will_not_close_is_counted_not_raised() -> None:
    before = HANDLED_ERRORS.labels("bus.close")._value.get()
    asyncio.run(close_bus(_StuckBus()))  # type: ignore[arg-type]
    assert HANDLED_ERRORS.labels("bus.close")._value.get() == before + 1
