"""Integrity for any shop: an audit command that writes audit.json (docs/contracts.md, section 1).

RetailFlow's audit (`doorbuster audit`) is one implementation; a shop of your own brings a
command of its own (`--audit-cmd "..."`): it reads the shop's stores, compares them with the
run's ledger and writes audit.json in the contract's shape to `$DOORBUSTER_AUDIT_JSON`. The
document is validated before it reaches the run folder, so a report never judges a malformed
one. Without an audit the report says "integrity: not measured", never a pass.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from doorbuster import runfolder as rf
from doorbuster.errors import EXIT_BAD_INPUT, DoorbusterError
from doorbuster.processes import stop_group
from doorbuster.runfolder import RUN_DIR_ENV

__all__ = ["AUDIT_JSON_ENV", "AuditCommandError", "AuditDocument", "run_audit_command", "validate_audit"]

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
    env = {**os.environ, AUDIT_JSON_ENV: str(pending), LEDGER_ENV: str(run_dir / rf.LEDGER), RUN_DIR_ENV: str(run_dir)}
    if host:
        env[TARGET_ENV] = host
    # Its own process group, so a hang is ended with everything it started.
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(proc, grace=5)
        pending.unlink(missing_ok=True)
        raise AuditCommandError(f"--audit-cmd {command!r}: no answer within {timeout:g}s (stopped)") from None
    finally:
        stop_group(proc, grace=5)  # nothing it left running in its group outlives it
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
