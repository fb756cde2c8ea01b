"""The client ledger: every order the shop confirmed to a client (run folder `ledger.csv`).

It arrives as a CSV file (`doorbuster audit --ledger`) or as JSON rows (the runtime's
`POST /audit`); both pass the same validation, and an error names the row and field at fault.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from retailflow.audit.errors import LedgerError
from retailflow.contracts import LEDGER_COLUMNS

__all__ = ["LedgerEntry", "load_ledger", "parse_ledger"]

REQUIRED = ("order_id", "items", "total_cents")


@dataclass(frozen=True)
class LedgerEntry:
    order_id: str
    idempotency_key: str
    items: tuple[tuple[str, int], ...]  # (sku, qty)
    total_cents: int
    confirmed_ts: float | None
    journey: str


def _items(raw: Any, where: str) -> tuple[tuple[str, int], ...]:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LedgerError(f"{where}: items is not JSON ({exc}): {raw[:80]!r}") from None
    if not isinstance(raw, list):
        raise LedgerError(f"{where}: items must be a JSON list of {{sku, qty}}, got {raw!r:.80}")
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("sku"), str) or not item["sku"]:
            raise LedgerError(f"{where}: items[{i}] needs a non-empty string sku, got {item!r:.80}")
        qty = item.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise LedgerError(f"{where}: items[{i}].qty must be a whole number >= 1, got {qty!r}")
        items.append((item["sku"], qty))
    return tuple(items)


def _int(raw: Any, field: str, where: str) -> int:
    if isinstance(raw, bool):
        raise LedgerError(f"{where}: {field} must be a whole number, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise LedgerError(f"{where}: {field} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise LedgerError(f"{where}: {field} must not be negative, got {value}")
    return value


def _ts(raw: Any, where: str) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise LedgerError(f"{where}: confirmed_ts must be epoch seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise LedgerError(f"{where}: confirmed_ts must be a finite number, got {raw!r}")
    return value


def _entry(row: Any, where: str) -> LedgerEntry:
    if not isinstance(row, Mapping):
        raise LedgerError(f"{where}: a ledger row must be an object with {', '.join(LEDGER_COLUMNS)}")
    missing = [f for f in REQUIRED if row.get(f) in (None, "")]
    if missing:
        raise LedgerError(f"{where}: missing {', '.join(missing)}")
    if not isinstance(row["order_id"], str):
        raise LedgerError(f"{where}: order_id must be a string, got {row['order_id']!r}")
    return LedgerEntry(
        order_id=row["order_id"].strip(),
        idempotency_key=str(row.get("idempotency_key") or ""),
        items=_items(row["items"], where),
        total_cents=_int(row["total_cents"], "total_cents", where),
        confirmed_ts=_ts(row.get("confirmed_ts"), where),
        journey=str(row.get("journey") or ""),
    )


def parse_ledger(rows: Iterable[Any], source: str = "ledger") -> list[LedgerEntry]:
    """Validate ledger rows (dicts with the columns of `ledger.csv`); `source` names them in errors."""
    if isinstance(rows, (str, bytes, Mapping)):
        raise LedgerError(f"{source}: must be a list of rows, got {type(rows).__name__}")
    return [_entry(row, f"{source}[{i}]") for i, row in enumerate(rows)]


def load_ledger(path: str | Path) -> list[LedgerEntry]:
    """Read and validate a `ledger.csv`; errors name the file, line and field."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise LedgerError(
                    f"{path}: not a ledger, the header lacks {', '.join(missing)} "
                    f"(expected columns: {', '.join(LEDGER_COLUMNS)})"
                )
            # Line numbers count the header as line 1, as an editor shows them.
            return [_entry(row, f"{path}:{reader.line_num}") for row in reader]
    except OSError as exc:
        raise LedgerError(f"cannot read ledger {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LedgerError(f"{path}: not a readable CSV ledger ({exc})") from None
