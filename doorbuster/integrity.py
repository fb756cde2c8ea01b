"""Integrity for any shop: an audit command that writes audit.json (docs/contracts.md, section 1).

RetailFlow's audit (`doorbuster audit`) is one implementation; a shop of your own brings a
command of its own (`--audit-cmd "..."`): it reads the shop's stores, compares them with the
run's ledger and writes audit.json in the contract's shape to `$DOORBUSTER_AUDIT_JSON`. The
document is validated before it reaches the run folder, so a report never judges a malformed
one. Without an audit the report says "integrity: not measured", never a pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from doorbuster import runfolder as rf
from doorbuster.errors import EXIT_BAD_INPUT, EXIT_NOGO, EXIT_OK, DoorbusterError
from doorbuster.processes import stop_group
from doorbuster.runfolder import RUN_DIR_ENV

__all__ = [
    "AUDIT_JSON_ENV",
    "LEDGER_ENV",
    "TARGET_ENV",
    "AuditCommandError",
    "AuditDocument",
    "register",
    "run_audit_command",
    "validate_audit",
]

AUDIT_JSON_ENV = "DOORBUSTER_AUDIT_JSON"  # where the command writes its audit.json
LEDGER_ENV = "DOORBUSTER_LEDGER"  # the run's ledger.csv (may be absent: no order was confirmed)
TARGET_ENV = "DOORBUSTER_TARGET"  # the shop's URL, when known
_PENDING = ".audit-cmd.json"  # the command's output before it is validated


class AuditCommandError(DoorbusterError):
    """An audit command that failed, hung, or wrote no valid audit.json."""

    exit_code = EXIT_BAD_INPUT


class Invariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    ok: StrictBool
    violations: Annotated[StrictInt, Field(ge=0)]
    details: list[Any] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ok_means_no_violation(self) -> Invariant:
        if self.ok != (self.violations == 0):
            raise ValueError(f"invariant {self.name!r}: ok={self.ok} with {self.violations} violation(s)")
        return self


class AuditDocument(BaseModel):
    """audit.json as the contract states it; `ok` must agree with the invariants."""

    model_config = ConfigDict(extra="forbid")

    ok: StrictBool
    checked_at: str
    invariants: Annotated[list[Invariant], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> AuditDocument:
        try:
            datetime.fromisoformat(self.checked_at)
        except ValueError as exc:
            raise ValueError(f"checked_at {self.checked_at!r} is not an ISO-8601 time") from exc
        names = [i.name for i in self.invariants]
        if len(set(names)) != len(names):
            raise ValueError(f"invariant names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
        if self.ok != all(i.ok for i in self.invariants):
            raise ValueError(f"ok={self.ok} disagrees with the invariants' own ok")
        return self


def validate_audit(data: Any, where: str) -> AuditDocument:
    """audit.json's content as a model; AuditCommandError naming the key at fault otherwise."""
    try:
        return AuditDocument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "top level"
        raise AuditCommandError(f"{where}: {key}: {err['msg']}") from exc


def run_audit_command(command: str, run_dir: Path, *, host: str | None = None, timeout: float = 300.0) -> AuditDocument:
    """Run `command` (a shell command line) for this run and store its validated audit.json.

    Exit 0 (clean) and 1 (an invariant broken, like `doorbuster audit`) are both answers; any
    other exit, a hang past `timeout` or a malformed document is an AuditCommandError, and then
    no audit.json is left in the run folder."""
    run_dir = Path(run_dir)
    pending = run_dir / _PENDING
    final = run_dir / rf.AUDIT
    for stale in (pending, final):
        stale.unlink(missing_ok=True)
    env = {**os.environ, AUDIT_JSON_ENV: str(pending), LEDGER_ENV: str(run_dir / rf.LEDGER)}
    env[RUN_DIR_ENV] = str(run_dir)
    if host:
        env[TARGET_ENV] = host
    # Its own process group, so a hang is ended with everything it started; stderr goes to a file,
    # not a pipe, so a child it leaves running cannot keep us waiting for the pipe to close.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        proc = subprocess.Popen(["/bin/sh", "-c", command], env=env, stderr=errors, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pending.unlink(missing_ok=True)
            raise AuditCommandError(f"--audit-cmd {command!r}: no answer within {timeout:g}s (stopped)") from None
        finally:
            stop_group(proc, grace=5)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # nothing it started outlives it, even once it exited
        errors.seek(0)
        stderr = errors.read()
    try:
        if proc.returncode not in (0, 1):
            last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no message")
            raise AuditCommandError(f"--audit-cmd {command!r} exited {proc.returncode}: {last.strip()[:300]}")
        if not pending.exists():
            raise AuditCommandError(f"--audit-cmd {command!r} wrote no audit.json to ${AUDIT_JSON_ENV}")
        try:
            data = json.loads(pending.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise AuditCommandError(f"audit.json from --audit-cmd {command!r} is not JSON: {exc}") from exc
        doc = validate_audit(data, f"audit.json from --audit-cmd {command!r}")
        final.write_text(doc.model_dump_json(indent=2), encoding="utf-8")
        return doc
    finally:
        pending.unlink(missing_ok=True)


def _cmd_integrity(args: Any) -> int:
    """Run a shop's own audit command for a run folder; exit 0 clean, 1 an invariant broken."""
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise AuditCommandError(f"run folder {run_dir}: no such folder")
    doc = run_audit_command(args.audit_cmd, run_dir, host=args.host, timeout=args.audit_timeout)
    for inv in doc.invariants:
        print(f"  {'ok  ' if inv.ok else 'FAIL'} {inv.name:<28} {inv.violations} violation(s)")
    print(f"audit {'OK' if doc.ok else 'FAILED'} → {run_dir / rf.AUDIT}")
    return EXIT_OK if doc.ok else EXIT_NOGO


def register(subparsers: Any) -> None:
    """Add the `integrity` sub-command."""
    from doorbuster.durations import DURATION_HELP, duration_arg

    parser = subparsers.add_parser(
        "integrity",
        help="run your shop's own audit command for a run folder; it writes audit.json",
        description=(
            "Run an audit command of your own shop (RetailFlow's is `doorbuster audit`) for a run folder. "
            f"The command gets ${AUDIT_JSON_ENV} (where to write audit.json), ${LEDGER_ENV} (the run's "
            f"ledger.csv) and ${TARGET_ENV} (--host); audit.json is validated against the contract before "
            "it lands in the run folder; a command that fails, hangs or writes a malformed one is exit 2."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (runs/<run-id>/)")
    parser.add_argument("--audit-cmd", required=True, metavar="COMMAND", help="a shell command that writes audit.json")
    parser.add_argument("--host", default=None, help="the shop's URL, passed to the command as $DOORBUSTER_TARGET")
    parser.add_argument(
        "--audit-timeout",
        type=duration_arg("--audit-timeout"),
        default=300.0,
        help=f"stop the command after this long, {DURATION_HELP} (default: 5m)",
    )
    parser.set_defaults(func=_cmd_integrity)
