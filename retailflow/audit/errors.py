"""The audit's errors: bad input (a ledger it cannot read) and stores it cannot reach."""

from __future__ import annotations

from retailflow.common.errors import RetailFlowError

__all__ = ["AuditError", "LedgerError", "StoreUnreachable"]


class AuditError(RetailFlowError):
    """Base of the audit's errors; the message names the file, row, field or store at fault."""


class LedgerError(AuditError):
    """The client ledger is missing, unreadable or malformed (bad input)."""


class StoreUnreachable(AuditError):
    """A store the audit must read is missing or does not answer."""
