"""Child processes the suite's commands start: each in its own process group, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

import psutil

__all__ = ["end_leftovers", "group_members", "stop_group"]


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


def group_members(pgid: int) -> list[int]:
    """The processes of group `pgid` still running (a zombie waiting for its reaper is gone)."""
    members = []
    for candidate in psutil.process_iter(["status"]):
        try:
            if candidate.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(candidate.pid) == pgid:
                members.append(candidate.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def end_leftovers(proc: subprocess.Popen[Any], *, grace: float) -> list[int]:
    """`proc`, the leader of its own process group, has exited: wait up to `grace` s for the rest of
    the group to exit by itself, then SIGKILL what is left; the PIDs it had to kill.

    A Locust master that fails after forking its --processes workers (its port taken, a crash)
    exits alone: Locust's exit hook forgets workers that have not exited at once, and they wait
    for a master forever. The load they belong to must not outlive its command."""
    deadline = time.monotonic() + grace
    while (left := group_members(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left
