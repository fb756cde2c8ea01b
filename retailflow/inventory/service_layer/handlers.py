"""Inventory's use cases: each one transaction on the store, with its events and its legacy write.

A stock change, its event (common outbox) and its dual-write row (the `legacy_sync` outbox)
commit together or not at all; relays deliver them afterwards. Nothing here awaits, so a
transaction is never held open across an await.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from retailflow.common.db import IntegrityError
from retailflow.common.outbox import add_to_outbox
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.domain import events
from retailflow.inventory.domain.commands import CommitReservation, ReleaseReservation, ReserveStock
from retailflow.inventory.domain.errors import (
    InsufficientStock,
    ReservationConflict,
    ReservationNotFound,
    StockInconsistent,
    UnknownSku,
)
from retailflow.inventory.domain.model import COMMIT, RELEASE, RESERVE, Move, Reservation, Status, Stock

__all__ = ["TOPIC", "InventoryHandlers"]

TOPIC = "inventory"
Transition = Callable[[Reservation], tuple[Reservation, events.Event | None]]


class InventoryHandlers:
    def __init__(self, repo: StockRepository, *, dual_write: bool, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.dual_write = dual_write
        self.clock = clock

    # -- reads ------------------------------------------------------------------------------------

    def stock(self, sku: str) -> Stock:
        stock = self.repo.get(sku)
        if stock is None:
            raise UnknownSku(sku)
        return stock

    def stocks(self, skus: Sequence[str]) -> list[Stock]:
        return self.repo.get_many(sorted(set(skus)))

    def reservation(self, reservation_id: str) -> Reservation:
        reservation = self.repo.get_reservation(reservation_id)
        if reservation is None:
            raise ReservationNotFound(reservation_id)
        return reservation

    # -- commands --------------------------------------------------------------------------------

    def reserve(self, cmd: ReserveStock) -> tuple[Reservation, bool]:
        """Hold every line or none; `(reservation, created)`. The same id again answers as the first time."""
        existing = self.repo.get_reservation(cmd.reservation_id)
        if existing is not None:
            return self._replay(existing, cmd), False
        reservation = Reservation.hold(cmd.reservation_id, cmd.lines, cmd.ttl_s, self.clock())
        try:
            with self.repo.transaction():
                # The row first: a concurrent request with the same id blocks (or fails) here,
                # before it has taken any stock.
                self.repo.add_reservation(reservation)
                for line in reservation.lines:  # sorted by sku: replicas lock rows in one order
                    self._move(line.sku, line.qty, RESERVE)
                self._publish(reservation.reserved_event())
        except IntegrityError:
            return self._replay(self.reservation(cmd.reservation_id), cmd), False
        except InsufficientStock as exc:
            # Remember the refusal so that a retry of this id gets the same answer.
            try:
                self.repo.add_reservation(reservation.rejected(exc.sku))
            except IntegrityError:
                return self._replay(self.reservation(cmd.reservation_id), cmd), False
            raise
        return reservation, True

    def commit(self, cmd: CommitReservation) -> Reservation:
        """Held units become sold. Committing twice is fine; committing a released one is refused."""
        return self._transition(cmd.reservation_id, lambda r: r.commit(), COMMIT)

    def release(self, cmd: ReleaseReservation) -> Reservation:
        """Held units go back on sale. Releasing twice is fine; releasing a committed one is refused."""
        return self._transition(cmd.reservation_id, lambda r: r.release(), RELEASE)

    def expire_stale(self, limit: int = 200) -> int:
        """Release held reservations past their TTL; the number this call expired."""
        now = self.clock()
        expired = 0
        for reservation_id in self.repo.stale_reservation_ids(now, limit):
            after = self._transition(reservation_id, lambda r: r.expire(now), RELEASE)
            expired += after.status == Status.EXPIRED  # (or another replica expired it: same outcome)
        return expired

    # -- internals ---------------------------------------------------------------------------------

    def _replay(self, existing: Reservation, cmd: ReserveStock) -> Reservation:
        if not existing.same_request(cmd.lines):
            raise ReservationConflict(cmd.reservation_id)
        if existing.status == Status.REJECTED:
            wanted = next((line.qty for line in existing.lines if line.sku == existing.rejected_sku), 1)
            raise InsufficientStock(existing.rejected_sku, wanted)
        return existing

    def _transition(self, reservation_id: str, step: Transition, move: Move) -> Reservation:
        now = self.clock()
        for _ in range(5):  # another replica may move the reservation between our read and our write
            current = self.reservation(reservation_id)
            if current.is_stale(now) and move is COMMIT:
                # Past its TTL: the hold is over even if the reaper has not run yet.
                self._transition(reservation_id, lambda r: r.expire(now), RELEASE)
                continue
            updated, event = step(current)
            if event is None:
                return updated
            with self.repo.transaction():
                if not self.repo.set_status(updated, expected=current.status):
                    continue
                for line in updated.lines:
                    self._move(line.sku, line.qty, move)
                self._publish(event)
            return updated
        raise StockInconsistent(f"reservation {reservation_id!r} kept changing under a {move.name}")

    def _move(self, sku: str, qty: int, move: Move) -> None:
        stock = self.repo.move(sku, qty, move)
        if stock is None:
            if move is not RESERVE:
                raise StockInconsistent(f"sku {sku!r} holds fewer than {qty} {move.source} units for a {move.name}")
            if self.repo.get(sku) is None:
                raise UnknownSku(sku)
            raise InsufficientStock(sku, qty)
        if self.dual_write:
            self.repo.enqueue_legacy(stock)

    def _publish(self, event: events.Event) -> None:
        add_to_outbox(self.repo.db, TOPIC, event.reservation_id, event.to_json())
