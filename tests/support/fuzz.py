"""Schemathesis against a running service's OpenAPI document: no input may give a server error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["assert_no_server_error"]


def assert_no_server_error(openapi_url: str, *, checks: str = "not_a_server_error", max_examples: int = 15,
                           workers: int = 1, seed: int = 7, request_timeout: float = 10, phases: str | None = None,
                           suppress_health_checks: bool = False, report_dir: Path | None = None,
                           timeout: float = 240) -> str:  # fmt: skip
    """Fuzz every operation (fixed seed, bounded examples) and fail with schemathesis's own report;
    returns what it printed."""
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", openapi_url,
        "--checks", checks,
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--workers", str(workers),
        "--no-color",
        "--generation-database", "none",
        "--request-timeout", str(request_timeout),
    ]  # fmt: skip
    if phases:
        cmd += ["--phases", phases]
    if suppress_health_checks:
        cmd += ["--suppress-health-check", "all"]
    if report_dir is not None:
        cmd += ["--report-dir", str(report_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    failures = result.stdout.find("FAILURES")
    report = result.stdout[failures : failures + 8000] if failures >= 0 else result.stdout[-6000:]
    assert result.returncode == 0, report + result.stderr[-2000:]
    return result.stdout
