"""Child processes the suite's commands start: each in its own process group, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

__all__ = ["stop_group"]


def stop_group(proc: subprocess.Popen[Any], *, grace: float) -> None:
    """SIGINT the process group `proc` leads, then SIGKILL it if it is still there after `grace` s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)  # Locust and the runtime finish their files on SIGINT
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
