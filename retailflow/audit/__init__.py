"""The audit: proves from the shop's stores that no order was lost and no item oversold.

`run_audit(config, ledger)` answers audit.json's shape (docs/contracts.md, section 1);
`doorbuster audit` is its command line (doorbuster/audit.py).
"""

from __future__ import annotations

from retailflow.audit.errors import AuditError, LedgerError, StoreUnreachable
from retailflow.audit.ledger import LedgerEntry, load_ledger, parse_ledger
from retailflow.audit.run import audit_snapshot, run_audit

__all__ = [
    "AuditError",
    "LedgerEntry",
    "LedgerError",
    "StoreUnreachable",
    "audit_snapshot",
    "load_ledger",
    "parse_ledger",
    "run_audit",
]
