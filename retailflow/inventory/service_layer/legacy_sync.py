"""The dual-write's second write and its safety nets, each a named failure point.

- `legacy_sync` relay: sends the rows the handlers wrote to the `legacy_sync` outbox (in the
  same transaction as the stock change) to the legacy store, newest version per sku, with
  exponential back-off while legacy is unreachable. Rows leave the outbox only once legacy
  took them, so a partition only delays the second write.
- `legacy_reconciler`: pages through legacy, compares every row with the new store and
  repairs a divergent one by queueing the current version again (bumped past legacy's when
  legacy somehow holds a newer version), so the relay pushes it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import replace
from typing import Any

from retailflow.common.handled import handled
from retailflow.inventory.adapters.legacy_client import LegacyClient, LegacyUnavailable
from retailflow.inventory.adapters.repository import StockRepository
from retailflow.inventory.domain.model import Stock

__all__ = ["LegacyReconciler", "LegacySyncRelay", "diverges", "sync_status"]

log = logging.getLogger("retailflow.inventory.legacy_sync")


def diverges(ours: Stock, theirs: Stock | None) -> bool:
    if theirs is None:
        return True
    return (ours.available, ours.reserved, ours.sold) != (theirs.available, theirs.reserved, theirs.sold)


class LegacySyncRelay:
    name = "legacy_sync"

    def __init__(
        self,
        repo: StockRepository,
        client: LegacyClient,
        *,
        batch: int = 500,
        concurrency: int = 16,
        poll_s: float = 0.1,
        min_backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        replica: int | None = None,
        share_for_s: float = 1.0,
    ) -> None:
        self.repo = repo
        self.client = client
        self.batch = batch
        self.replica = replica  # set: this replica sends its half of fresh rows, and any row older than share_for_s
        self.share_for_s = share_for_s
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.last_error = ""
        self.failures = 0

    async def relay_once(self) -> int:
        """Send one batch; the number of skus legacy took. Raises LegacyUnavailable if any failed."""
        if self.replica is None:
            pending = self.repo.pending_legacy(self.batch)
        else:
            pending = self.repo.pending_legacy(
                self.batch, parity=self.replica % 2, orphaned_before=time.time() - self.share_for_s
            )
        if not pending:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        first_error: list[LegacyUnavailable] = []

        async def send(stock: Stock) -> LegacyUnavailable | None:
            async with gate:
                if first_error:  # legacy is down: don't wait out a timeout per sku
                    return first_error[0]
                try:
                    await self.client.put(stock)
                    return None
                except LegacyUnavailable as exc:
                    first_error.append(exc)
                    return exc

        outcomes = await asyncio.gather(*(send(stock) for stock in pending))
        sent = [stock for stock, error in zip(pending, outcomes, strict=True) if error is None]
        if sent:
            with self.repo.transaction():
                for stock in sorted(sent, key=lambda s: s.sku):  # one lock order across replicas
                    self.repo.legacy_sent(stock.sku, stock.version)
                self.repo.set_sync_state("last_success_at", time.time())
                self.repo.add_sync_state("sent", len(sent))
        errors = [error for error in outcomes if error is not None]
        if errors:
            raise LegacyUnavailable(f"{len(errors)} of {len(pending)} legacy writes failed: {errors[0].detail}")
        return len(sent)

    async def run(self) -> None:
        backoff = self.min_backoff_s
        while True:
            try:
                sent = await self.relay_once()
                backoff = self.min_backoff_s
                self.last_error = ""
                if sent < self.batch:
                    await asyncio.sleep(self.poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                self.last_error = str(exc)
                handled("inventory.legacy_sync", exc, failure_point=self.name, retry_in_s=round(backoff, 1))
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self.max_backoff_s)


class LegacyReconciler:
    name = "legacy_reconciler"

    def __init__(
        self, repo: StockRepository, client: LegacyClient, *, page_size: int = 1000, interval_s: float = 30.0
    ) -> None:
        self.repo = repo
        self.client = client
        self.page_size = page_size
        self.interval_s = interval_s
        self._lock = asyncio.Lock()

    async def reconcile(self) -> dict[str, Any]:
        """One full pass over legacy; what it found and repaired. Raises LegacyUnavailable."""
        async with self._lock:  # an on-demand pass and the periodic one never overlap in a process
            return await self._pass()

    async def _pass(self) -> dict[str, Any]:
        started = time.time()
        checked = divergent = repaired = 0
        after = ""
        while True:
            page, next_after = await self.client.page(after, self.page_size)
            theirs = {stock.sku: stock for stock in page}
            # Our rows in the same sku range; on the last page, every sku left (legacy may lack some).
            upto = page[-1].sku if page and next_after is not None else None
            ours = self.repo.page(after, 10**9, upto=upto)
            checked += len(ours)
            suspects = [stock for stock in ours if diverges(stock, theirs.get(stock.sku))]
            in_flight = self.repo.pending_skus([s.sku for s in suspects])
            for stock in suspects:
                if stock.sku in in_flight:
                    continue  # the relay is about to write it: lag, not divergence
                found, fixed = await self._confirm_and_repair(stock.sku)
                divergent += found
                repaired += fixed
            if next_after is None or not page:
                break
            after = next_after
        with self.repo.transaction():
            self.repo.set_sync_state("last_reconcile_at", time.time())
            self.repo.set_sync_state("divergent_last_run", divergent)
            self.repo.add_sync_state("divergence_found", divergent)
            self.repo.add_sync_state("divergence_repaired", repaired)
        result = {
            "checked": checked,
            "divergent": divergent,
            "repaired": repaired,
            "seconds": round(time.time() - started, 3),
        }
        if divergent:
            log.warning("legacy_reconciler repaired divergence", extra={"failure_point": self.name, **result})
        return result

    async def _confirm_and_repair(self, sku: str) -> tuple[int, int]:
        # Read both sides again: the relay may have caught up since the page was read.
        theirs = await self.client.get(sku)
        with self.repo.transaction():
            ours = self.repo.get(sku)
            if ours is None or not diverges(ours, theirs) or self.repo.pending_skus([sku]):
                return 0, 0
            if theirs is not None and theirs.version >= ours.version:
                # Legacy would ignore our version as stale; move ours past it.
                bumped = theirs.version + 1
                if not self.repo.bump_version(sku, ours.version, bumped):
                    return 1, 0
                ours = replace(ours, version=bumped)
            self.repo.enqueue_legacy(ours)
        return 1, 1

    async def run(self) -> None:
        if self.interval_s <= 0:
            return
        while True:
            await asyncio.sleep(self.interval_s * random.uniform(0.8, 1.2))  # replicas drift apart
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                handled("inventory.legacy_reconciler", exc, failure_point=self.name, next_pass_in_s=self.interval_s)


def sync_status(repo: StockRepository, relay: LegacySyncRelay | None, legacy_url: str | None) -> dict[str, Any]:
    """The backlog of the dual-write, as /admin/sync and /metrics show it."""
    state = repo.sync_state()
    last = state.get("last_success_at", 0.0)
    return {
        "enabled": relay is not None,
        "legacy_url": legacy_url,
        "pending": repo.pending_legacy_count(),
        "last_success_at": last or None,
        "seconds_since_success": round(time.time() - last, 3) if last else None,
        "sent_total": int(state.get("sent", 0)),
        "last_reconcile_at": state.get("last_reconcile_at") or None,
        "divergence_found_total": int(state.get("divergence_found", 0)),
        "divergence_repaired_total": int(state.get("divergence_repaired", 0)),
        "divergent_last_run": int(state.get("divergent_last_run", 0)),
        "relay_failures": relay.failures if relay else 0,
        "last_error": (relay.last_error or None) if relay else None,
    }
