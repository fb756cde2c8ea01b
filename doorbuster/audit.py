"""`doorbuster audit`: check the shop's invariants against its stores; exit 1 when one is broken.

The audit itself is the shop's (retailflow/audit/); this module is its command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_NOGO, EXIT_OK, EXIT_UNREACHABLE, DoorbusterError
from retailflow.audit.config import audit_config
from retailflow.audit.errors import AuditError, LedgerError, StoreUnreachable
from retailflow.audit.run import run_audit
from retailflow.common.errors import ConfigError

__all__ = ["register"]

DEFAULT_SETTLE_S = 30.0  # a clean shop answers at once; only a broken one waits this long
MAX_SETTLE_S = 3600


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="check the shop's invariants against its stores (exit 1 when one is broken)",
        description=(
            "Read the shop's stores directly and check that no order was lost, none confirmed or "
            "captured twice, stock is conserved and never negative, the legacy store agrees with "
            "inventory, and order projections equal their event-log replay."
        ),
    )
    parser.add_argument("--ledger", type=Path, help="ledger.csv of the orders confirmed to clients")
    parser.add_argument(
        "--data-dir", type=Path, help="the shop's data folder (default: $DOORBUSTER_DATA_DIR or .doorbuster)"
    )
    parser.add_argument(
        "--settle", type=float, default=DEFAULT_SETTLE_S, metavar="SECONDS",
        help="while an invariant is broken, look again for up to this long: sagas finishing and the legacy "
        f"dual-write catching up after the load stops (default {DEFAULT_SETTLE_S:g}; 0 = one look)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print audit.json to stdout instead of a summary")
    parser.add_argument("--out", type=Path, help="also write audit.json to this file")
    parser.set_defaults(func=_run)


def _summary(audit: dict[str, Any]) -> str:
    lines = [f"audit {'OK' if audit['ok'] else 'FAILED'} at {audit['checked_at']}"]
    for inv in audit["invariants"]:
        mark = "ok  " if inv["ok"] else "FAIL"
        lines.append(f"  {mark} {inv['name']:<26} {inv['violations']} violation(s)")
        if not inv["ok"]:
            for detail in inv["details"][:5]:
                lines.append(f"         {orjson.dumps(detail).decode()}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    try:
        config = audit_config(args.data_dir)
        if not 0 <= args.settle <= MAX_SETTLE_S:
            raise DoorbusterError(f"--settle {args.settle:g} must be between 0 and {MAX_SETTLE_S} seconds")
        audit = run_audit(config, args.ledger, settle_s=args.settle)
    except (LedgerError, ConfigError) as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    except StoreUnreachable as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_UNREACHABLE) from None
    except AuditError as exc:  # the stores answered something the audit cannot evaluate
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    text = orjson.dumps(audit, option=orjson.OPT_INDENT_2).decode()
    if args.out is not None:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
        except OSError as exc:
            raise DoorbusterError(f"cannot write {args.out}: {exc.strerror or exc}", exit_code=EXIT_BAD_INPUT) from None
    print(text if args.json else _summary(audit), file=sys.stdout)
    return EXIT_OK if audit["ok"] else EXIT_NOGO
