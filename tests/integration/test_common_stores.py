"""The shared store adapters behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retailflow.common.bus import Bus, BusMessage, EmbeddedBus, make_bus
from retailflow.common.db import Database, IntegrityError
from retailflow.common.outbox import OutboxRelay, add_to_outbox, outbox_schema
from tests.support.servers import fresh_mariadb, fresh_postgres, require_server


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.services),
        pytest.param("mariadb", marks=pytest.mark.services),
    ]
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'x.db'}")
        yield database.connect()
        database.close()
        return
    fresh = fresh_postgres if request.param == "postgresql" else fresh_mariadb
    with fresh() as url:
        database = Database(url, schema="svc").connect()
        try:
            yield database
        finally:
            database.close()


def test_a_rolled_back_transaction_leaves_no_trace_and_a_committed_one_stays(db: Database) -> None:
    db.script(f"CREATE TABLE t (id {db.autoincrement}, name VARCHAR(20) NOT NULL UNIQUE)")
    with db.transaction():
        db.insert("INSERT INTO t (name) VALUES (?)", ("kept",))
    with pytest.raises(RuntimeError, match="boom"), db.transaction():
        db.insert("INSERT INTO t (name) VALUES (?)", ("lost",))
        raise RuntimeError("boom")
    assert [r["name"] for r in db.fetchall("SELECT name FROM t ORDER BY id")] == ["kept"]


def test_a_duplicate_key_is_an_integrity_error_and_insert_ignore_skips_it(db: Database) -> None:
    db.script(f"CREATE TABLE t (id {db.autoincrement}, name VARCHAR(20) NOT NULL UNIQUE)")
    db.insert("INSERT INTO t (name) VALUES (?)", ("a",))
    with pytest.raises(IntegrityError):
        db.insert("INSERT INTO t (name) VALUES (?)", ("a",))
    assert db.execute(db.insert_ignore("t", ["name"]), ("a",)) == 0
    assert db.fetchone("SELECT COUNT(*) AS n FROM t")["n"] == 1


def test_percent_signs_in_sql_survive_placeholder_translation(db: Database) -> None:
    db.script("CREATE TABLE t (name VARCHAR(20))")
    db.execute("INSERT INTO t (name) VALUES (?)", ("50% off",))
    assert db.fetchone("SELECT name FROM t WHERE name LIKE '50%'")["name"] == "50% off"


def test_the_outbox_relay_publishes_committed_events_once_in_order(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'svc.db'}").connect()
    db.script(outbox_schema(db))
    bus = EmbeddedBus(tmp_path / "bus.db", poll_s=0.01)
    received: list[BusMessage] = []

    async def scenario() -> None:
        async def handler(message: BusMessage) -> None:
            received.append(message)

        await bus.subscribe("orders", "test", handler)
        with db.transaction():
            add_to_outbox(db, "orders", "o-1", {"type": "OrderPlaced", "n": 1})
            add_to_outbox(db, "orders", "o-1", {"type": "OrderConfirmed", "n": 2})
        with pytest.raises(RuntimeError), db.transaction():
            add_to_outbox(db, "orders", "o-2", {"type": "OrderPlaced", "n": 3})
            raise RuntimeError("rolled back")
        relay = OutboxRelay(db, bus, "orders")
        assert await relay.relay_once() == 2
        assert await relay.relay_once() == 0
        deadline = time.monotonic() + 30  # delivery is polled: a busy machine can take seconds
        while len(received) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await bus.close()

    asyncio.run(scenario())
    assert [m.payload["n"] for m in received] == [1, 2]
    assert len({m.msg_id for m in received}) == 2


def test_the_relay_prunes_only_rows_published_long_enough_ago(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'svc.db'}").connect()
    db.script(outbox_schema(db))
    relay = OutboxRelay(db, EmbeddedBus(tmp_path / "bus.db"), "orders", keep_s=300)
    for n in range(3):
        add_to_outbox(db, "orders", f"o-{n}", {"n": n})
    assert asyncio.run(relay.relay_once()) == 3
    add_to_outbox(db, "orders", "o-3", {"n": 3})  # not yet published: never pruned
    db.execute("UPDATE outbox SET published_at = published_at - 301 WHERE msg_key IN ('o-0', 'o-1')")
    assert relay.prune() == 2
    assert [r["msg_key"] for r in db.fetchall("SELECT msg_key FROM outbox ORDER BY id")] == ["o-2", "o-3"]


@pytest.mark.services
@pytest.mark.parametrize("server", ["rabbitmq", "nats"])
def test_the_networked_bus_delivers_to_its_own_shop_only(server: str) -> None:
    require_server(server)
    import uuid

    def bus(namespace: str) -> Bus:
        url = "amqp://guest:guest@127.0.0.1:5672/" if server == "rabbitmq" else "nats://127.0.0.1:4222"
        return make_bus(url, Path("."), namespace)

    ours, theirs = bus(f"rf-test-{uuid.uuid4().hex[:8]}"), bus(f"rf-test-{uuid.uuid4().hex[:8]}")
    msg_id = uuid.uuid4().hex  # JetStream drops a repeated id within its window, across runs
    got: list[BusMessage] = []
    stolen: list[BusMessage] = []

    async def scenario() -> None:
        done = asyncio.Event()

        async def handler(message: BusMessage) -> None:
            got.append(message)
            done.set()

        async def other_shop(message: BusMessage) -> None:
            stolen.append(message)

        await theirs.subscribe("orders", "notifications", other_shop)
        await ours.subscribe("orders", "notifications", handler)
        await ours.publish("orders", msg_id, {"hello": "world"})
        await asyncio.wait_for(done.wait(), timeout=10)
        await ours.close()
        await theirs.close()

    asyncio.run(scenario())
    assert got[0].payload == {"hello": "world"} and got[0].msg_id == msg_id
    assert stolen == [], "another shop on the same broker consumed our event"


def _start_like_a_replica(url: str, start: Any) -> None:
    start.wait(timeout=60)  # every process opens the store at the same moment
    db = Database(url).connect()
    try:
        db.script(EmbeddedBus.SCHEMA)  # what a replica does next: its tables, then its first write
        db.execute("INSERT OR IGNORE INTO offsets (grp, topic, seq) VALUES (?, ?, 0)", ("g", "orders"))
    finally:
        db.close()


def test_many_processes_opening_a_new_sqlite_store_at_once_all_start(tmp_path: Path) -> None:
    # Switching a file to WAL takes an exclusive lock that SQLite does not always wait for: replicas
    # starting together on a fresh file died of "database is locked" (about 1 process in 130 here).
    context = multiprocessing.get_context("fork")
    workers, rounds = 8, 60
    for round_ in range(rounds):
        url = f"sqlite:///{tmp_path / f'bus-{round_}.db'}"
        start = context.Barrier(workers)
        procs = [context.Process(target=_start_like_a_replica, args=(url, start)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=120)
        assert [proc.exitcode for proc in procs] == [0] * workers, f"round {round_}: a replica failed to start"
        db = Database(url).connect()
        assert db.fetchone("PRAGMA journal_mode")["journal_mode"] == "wal"
        db.close()
