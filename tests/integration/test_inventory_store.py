"""Inventory's handlers, relay and reconciler on real stores (SQLite, and PostgreSQL when marked)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from retailflow.common.db import Database
from retailflow.inventory import audit_view
from retailflow.inventory.adapters.legacy_client import LegacyClient, LegacyUnavailable
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.domain.commands import CommitReservation, ReleaseReservation, ReserveStock
from retailflow.inventory.domain.errors import (
    InsufficientStock,
    ReservationClosed,
    ReservationConflict,
    UnknownSku,
)
from retailflow.inventory.domain.model import Line, Status, Stock
from retailflow.inventory.service_layer.handlers import InventoryHandlers
from retailflow.inventory.service_layer.legacy_sync import LegacyReconciler, LegacySyncRelay
from tests.support.servers import fresh_postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FakeLegacy(LegacyClient):
    """The legacy endpoint's rules in memory: the highest version wins; `down` refuses everything."""

    def __init__(self, rows: dict[str, Stock]) -> None:
        self.rows = dict(rows)
        self.down = False
        self.puts = 0

    async def put(self, stock: Stock) -> None:
        if self.down:
            raise LegacyUnavailable("legacy did not answer (connection refused)")
        self.puts += 1
        current = self.rows.get(stock.sku)
        if current is None or current.version < stock.version:
            self.rows[stock.sku] = stock

    async def get(self, sku: str) -> Stock | None:
        if self.down:
            raise LegacyUnavailable("legacy did not answer (connection refused)")
        return self.rows.get(sku)

    async def page(self, after: str, limit: int) -> tuple[list[Stock], str | None]:
        if self.down:
            raise LegacyUnavailable("legacy did not answer (connection refused)")
        items = [self.rows[sku] for sku in sorted(self.rows) if sku > after][:limit]
        return items, (items[-1].sku if len(items) == limit else None)


INITIAL = {"DB-0001": 20, "SKU-000001": 50, "SKU-000002": 5}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StockRepository]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            db = Database(f"sqlite:///{tmp_path / 'inventory.db'}")
        else:
            db = Database(stack.enter_context(fresh_postgres()), schema="inventory")
        stack.callback(db.close)
        repo = StockRepository(db.connect())
        repo.create_schema()
        repo.load(Stock(sku, units, units, 0, 0) for sku, units in INITIAL.items())
        yield repo


def reserve(handlers: InventoryHandlers, rid: str, *lines: tuple[str, int], ttl: int = 60) -> str:
    reservation, _ = handlers.reserve(ReserveStock(rid, tuple(Line(s, q) for s, q in lines), ttl))
    return reservation.status


def conserved(repo: StockRepository) -> bool:
    return all(
        r["initial"] == r["available"] + r["reserved"] + r["sold"] and r["available"] >= 0
        for r in audit_view.stock_rows(repo.db)
    )


def test_a_reservation_holds_every_line_or_none(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=True)
    with pytest.raises(InsufficientStock, match="'SKU-000002' has fewer than 6 units"):
        reserve(handlers, "o-1", ("DB-0001", 2), ("SKU-000002", 6))
    assert repo.get("DB-0001") == Stock("DB-0001", 20, 20, 0, 0, 0)  # the first line was rolled back
    assert repo.pending_legacy_count() == 0
    assert reserve(handlers, "o-2", ("DB-0001", 2), ("SKU-000002", 5)) == Status.HELD
    assert (repo.get("SKU-000002").available, repo.get("SKU-000002").reserved) == (0, 5)
    assert conserved(repo)


def test_the_same_reservation_id_gives_the_same_answer_and_takes_stock_once(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=False)
    first, created = handlers.reserve(ReserveStock("o-1", (Line("DB-0001", 3),), 60))
    again, created_again = handlers.reserve(ReserveStock("o-1", (Line("DB-0001", 3),), 60))
    assert (created, created_again) == (True, False)
    assert again == first
    assert repo.get("DB-0001").reserved == 3
    with pytest.raises(ReservationConflict, match="'o-1' already exists with different items"):
        handlers.reserve(ReserveStock("o-1", (Line("DB-0001", 4),), 60))
    # A refusal is remembered too: the retry of a sold-out order is still sold out after stock returns.
    with pytest.raises(InsufficientStock):
        reserve(handlers, "o-2", ("DB-0001", 18))
    handlers.release(ReleaseReservation("o-1"))
    with pytest.raises(InsufficientStock, match="'DB-0001' has fewer than 18"):
        reserve(handlers, "o-2", ("DB-0001", 18))
    assert handlers.reservation("o-2").status == Status.REJECTED


def test_an_unknown_sku_is_refused_and_leaves_no_reservation(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=False)
    with pytest.raises(UnknownSku, match="no stock for sku 'NOPE'"):
        reserve(handlers, "o-1", ("DB-0001", 1), ("NOPE", 1))
    assert repo.get_reservation("o-1") is None
    assert repo.get("DB-0001").available == 20


def test_commit_sells_and_release_returns_units_each_exactly_once(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=False)
    reserve(handlers, "o-1", ("DB-0001", 2))
    reserve(handlers, "o-2", ("DB-0001", 3))
    for _ in range(2):
        assert handlers.commit(CommitReservation("o-1")).status == Status.COMMITTED
        assert handlers.release(ReleaseReservation("o-2")).status == Status.RELEASED
    assert repo.get("DB-0001") == Stock("DB-0001", 20, 18, 0, 2, 4)
    with pytest.raises(ReservationClosed, match="is released; it cannot be committed"):
        handlers.commit(CommitReservation("o-2"))
    events = repo.db.fetchall("SELECT payload FROM outbox ORDER BY id")
    kinds = [e["payload"].split('"type":"')[1].split('"')[0] for e in events]
    assert kinds == ["StockReserved", "StockReserved", "ReservationCommitted", "ReservationReleased"]


def test_stale_reservations_expire_and_their_units_return(repo: StockRepository) -> None:
    clock = Clock()
    handlers = InventoryHandlers(repo, dual_write=False, clock=clock)
    reserve(handlers, "short", ("DB-0001", 4), ttl=5)
    reserve(handlers, "long", ("DB-0001", 1), ttl=500)
    clock.now += 4
    assert handlers.expire_stale() == 0
    clock.now += 2
    assert handlers.expire_stale() == 1
    assert handlers.reservation("short").status == Status.EXPIRED
    assert [r["reservation_id"] for r in audit_view.open_reservations(repo.db)] == ["long"]
    assert (repo.get("DB-0001").available, repo.get("DB-0001").reserved) == (19, 1)
    last = repo.db.fetchone("SELECT msg_key, payload FROM outbox ORDER BY id DESC LIMIT 1")
    assert last["msg_key"] == "short" and '"type":"ReservationExpired"' in last["payload"]
    clock.now += 1000
    # Past its TTL a hold is over, even before the reaper ran: committing it is refused.
    with pytest.raises(ReservationClosed, match="'long' is expired; it cannot be committed"):
        handlers.commit(CommitReservation("long"))
    assert repo.get("DB-0001") == Stock("DB-0001", 20, 20, 0, 0, 4)


def test_every_stock_change_queues_its_legacy_write_and_the_relay_delivers_after_an_outage(
    repo: StockRepository,
) -> None:
    handlers = InventoryHandlers(repo, dual_write=True)
    legacy = FakeLegacy({sku: Stock(sku, 0, units, 0, 0, 0) for sku, units in INITIAL.items()})
    relay = LegacySyncRelay(repo, legacy)
    legacy.down = True
    reserve(handlers, "o-1", ("DB-0001", 2), ("SKU-000001", 1))
    handlers.commit(CommitReservation("o-1"))
    assert repo.pending_legacy_count() == 4
    with pytest.raises(LegacyUnavailable, match="2 of 2 legacy writes failed"):
        asyncio.run(relay.relay_once())
    assert repo.pending_legacy_count() == 4  # nothing lost while legacy is away
    legacy.down = False
    assert asyncio.run(relay.relay_once()) == 2  # only the newest version of each sku is sent
    assert repo.pending_legacy_count() == 0
    assert legacy.rows["DB-0001"] == Stock("DB-0001", 0, 18, 0, 2, 2)
    assert repo.sync_state()["last_success_at"] > 0


def test_the_reconciler_repairs_a_divergent_legacy_row_even_when_legacy_holds_a_newer_version(
    repo: StockRepository,
) -> None:
    legacy = FakeLegacy({sku: Stock(sku, 0, units, 0, 0, 0) for sku, units in INITIAL.items()})
    legacy.rows["SKU-000001"] = Stock("SKU-000001", 0, 1, 0, 49, 7)  # someone wrote the monolith directly
    del legacy.rows["SKU-000002"]  # and lost a row
    reconciler = LegacyReconciler(repo, legacy, page_size=1)
    relay = LegacySyncRelay(repo, legacy)
    result = asyncio.run(reconciler.reconcile())
    assert (result["checked"], result["divergent"], result["repaired"]) == (3, 2, 2)
    asyncio.run(relay.relay_once())
    assert legacy.rows["SKU-000001"] == Stock("SKU-000001", 0, 50, 0, 0, 8)
    assert legacy.rows["SKU-000002"].available == 5
    assert asyncio.run(reconciler.reconcile())["divergent"] == 0
    state = repo.sync_state()
    assert (state["divergence_found"], state["divergence_repaired"]) == (2, 2)


def test_a_row_waiting_in_the_outbox_is_lag_not_divergence(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=True)
    legacy = FakeLegacy({sku: Stock(sku, 0, units, 0, 0, 0) for sku, units in INITIAL.items()})
    reserve(handlers, "o-1", ("DB-0001", 2))
    result = asyncio.run(LegacyReconciler(repo, legacy).reconcile())
    assert result["divergent"] == 0 and repo.pending_legacy_count() == 1


def test_replicas_split_fresh_legacy_writes_and_pick_up_a_dead_replicas_share(repo: StockRepository) -> None:
    handlers = InventoryHandlers(repo, dual_write=True)
    legacy = FakeLegacy({sku: Stock(sku, 0, units, 0, 0, 0) for sku, units in INITIAL.items()})
    for n, sku in enumerate(("DB-0001", "SKU-000001", "SKU-000002")):
        reserve(handlers, f"o-{n}", (sku, 1))
    even = LegacySyncRelay(repo, legacy, replica=0, share_for_s=60)
    odd = LegacySyncRelay(repo, legacy, replica=1, share_for_s=60)
    assert asyncio.run(even.relay_once()) == 1
    assert asyncio.run(odd.relay_once()) == 2
    assert legacy.puts == 3 and repo.pending_legacy_count() == 0
    reserve(handlers, "o-3", ("DB-0001", 1))  # the next id, whatever its parity
    owner, other = (even, odd) if repo.pending_legacy(10, parity=0) else (odd, even)
    assert asyncio.run(other.relay_once()) == 0  # fresh and not its share
    other.share_for_s = 0.0  # the owner died; once the row is older than the share window, anyone sends it
    assert asyncio.run(other.relay_once()) == 1
    assert legacy.rows["DB-0001"].reserved == 2 and owner.failures == 0


def test_the_periodic_reconciler_repairs_without_being_asked(repo: StockRepository) -> None:
    legacy = FakeLegacy({sku: Stock(sku, 0, units, 0, 0, 0) for sku, units in INITIAL.items()})
    legacy.rows["DB-0001"] = Stock("DB-0001", 0, 0, 0, 0, 0)  # the monolith lost the doorbuster's units
    reconciler = LegacyReconciler(repo, legacy, interval_s=0.05)
    relay = LegacySyncRelay(repo, legacy, poll_s=0.01)

    async def scenario() -> None:
        tasks = [asyncio.create_task(reconciler.run()), asyncio.create_task(relay.run())]
        try:
            deadline = time.monotonic() + 30  # two polling loops: a busy machine can take seconds
            while legacy.rows["DB-0001"].available != 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    assert legacy.rows["DB-0001"] == Stock("DB-0001", 0, 20, 0, 0, 1)
    assert repo.sync_state()["divergence_repaired"] >= 1
