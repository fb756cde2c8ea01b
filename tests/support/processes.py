"""Start real shop processes for tests and always reap them, by PID.

Starting one service lives with the shop's runtime (retailflow/runtime/standalone.py), where the
benchmarks use it too; tests import it from here along with `wait_until`."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

from retailflow.runtime.standalone import ServiceProcess, free_port, run_service, seed_service, stop

__all__ = ["ServiceProcess", "communicate_or_kill", "free_port", "run_service", "seed_service", "stop", "wait_until"]

T = TypeVar("T")


def wait_until(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: {last_exc!r}")


def communicate_or_kill(proc: subprocess.Popen[Any], timeout: float) -> tuple[Any, Any]:
    """`proc`'s output once it exits; killed and reaped should it outlast `timeout` s (or the wait fail)."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
