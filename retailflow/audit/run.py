"""`run_audit(config, ledger)`: read the stores, check every invariant, answer audit.json's shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retailflow.audit.invariants import check_all
from retailflow.audit.ledger import LedgerEntry, load_ledger, parse_ledger
from retailflow.audit.snapshot import ShopSnapshot
from retailflow.audit.stores import read_snapshot
from retailflow.common.config import ServiceConfig

__all__ = ["LedgerInput", "audit_snapshot", "run_audit"]

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


def run_audit(config: ServiceConfig, ledger: LedgerInput = None) -> dict[str, Any]:
    """Check the shop's invariants against its stores, given the client ledger (a `ledger.csv`
    path, its rows as dicts, or parsed entries; None when there is none).

    Returns audit.json's shape (docs/contracts.md, section 1). Raises `LedgerError` for a bad
    ledger and `StoreUnreachable` for a store it cannot read; both name what is at fault.
    """
    entries = _ledger(ledger)  # validate before touching any store
    return audit_snapshot(read_snapshot(config), entries)
