"""Child processes the suite's commands start: each in its own process group, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

__all__ = ["stop_group"]


def stop_group(proc: subprocess.Popen[Any], *, grace: float, leader_only: bool = False) -> None:
    """SIGINT the process group `proc` leads, then SIGKILL it if it is still there after `grace` s.

    `leader_only`: SIGINT the leader alone and let it stop its own children (a Locust master
    collects its workers' last rows; interrupted at once, they would have nobody to send to).
    Whatever is left of the group after `grace` is killed.
    """
    if proc.poll() is None:
        try:
            if leader_only:
                os.kill(proc.pid, signal.SIGINT)
            else:
                os.killpg(proc.pid, signal.SIGINT)  # Locust and the runtime finish their files on SIGINT
            proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    if proc.poll() is not None and not leader_only:
        return
    try:
        # Too slow, or (leader_only) the leader is gone: no child of it may stay behind.
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
