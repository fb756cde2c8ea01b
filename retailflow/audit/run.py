"""`run_audit(config, ledger)`: read the stores, check every invariant, answer audit.json's shape."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retailflow.audit.invariants import check_all
from retailflow.audit.ledger import LedgerEntry, load_ledger, parse_ledger
from retailflow.audit.snapshot import ShopSnapshot
from retailflow.audit.stores import read_snapshot
from retailflow.common.config import ServiceConfig

__all__ = ["LedgerInput", "audit_snapshot", "run_audit"]

SETTLE_POLL_S = 1.0
LedgerInput = str | Path | Sequence[LedgerEntry] | Sequence[dict[str, Any]] | None


def _ledger(ledger: LedgerInput) -> list[LedgerEntry] | None:
    if ledger is None:
        return None
    if isinstance(ledger, (str, Path)):
        return load_ledger(ledger)
    if all(isinstance(entry, LedgerEntry) for entry in ledger):
        return list(ledger)  # type: ignore[arg-type]
    return parse_ledger(ledger)


def audit_snapshot(snapshot: ShopSnapshot, ledger: LedgerInput = None) -> dict[str, Any]:
    """The audit of a snapshot already read (the invariants are pure; tests call this)."""
    verdicts = check_all(snapshot, _ledger(ledger))
    return {
        "ok": all(v.ok for v in verdicts),
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "invariants": [v.to_json() for v in verdicts],
    }


def run_audit(
    config: ServiceConfig,
    ledger: LedgerInput = None,
    *,
    settle_s: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Check the shop's invariants against its stores, given the client ledger (a `ledger.csv`
    path, its rows as dicts, or parsed entries; None when there is none).

    Right after the load stops, sagas may still be finishing and the legacy dual-write catching
    up; with `settle_s` the audit looks again, every second, until it is clean or that long has
    passed, and notes on each invariant that was broken at first how long it took to heal.

    Returns audit.json's shape (docs/contracts.md, section 1). Raises `LedgerError` for a bad
    ledger and `StoreUnreachable` for a store it cannot read; both name what is at fault.
    """
    entries = _ledger(ledger)  # validate before touching any store
    started = clock()
    audit = audit_snapshot(read_snapshot(config), entries)
    first_broken = {inv["name"] for inv in audit["invariants"] if not inv["ok"]}
    while not audit["ok"] and clock() - started < settle_s:
        sleep(min(SETTLE_POLL_S, max(0.0, settle_s - (clock() - started))))
        audit = audit_snapshot(read_snapshot(config), entries)
    waited = clock() - started
    for inv in audit["invariants"]:
        if inv["name"] in first_broken:
            state = "clean" if inv["ok"] else "still broken"
            inv["details"].append({"note": f"broken at first look; {state} after settling {waited:.1f}s"})
    return audit
