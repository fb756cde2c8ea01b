"""Schemathesis against a running service's OpenAPI document: no input may give a server error."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["assert_no_server_error"]


def assert_no_server_error(openapi_url: str, *, max_examples: int = 15, request_timeout: float = 10,
                           phases: str | None = None, timeout: float = 240) -> None:
    """Fuzz every operation (fixed seed, bounded examples) and fail with schemathesis's own report."""
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", openapi_url,
        "--checks", "not_a_server_error",
        "--max-examples", str(max_examples),
        "--seed", "7",
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", str(request_timeout),
    ]
    if phases:
        cmd += ["--phases", phases]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
