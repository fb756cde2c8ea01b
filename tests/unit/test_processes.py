"""A command's process group ends with it: what its leader leaves behind is ended by PID."""

import os
import signal
import subprocess
import time

import psutil

from doorbuster.processes import end_leftovers, group_members


def _group(script: str) -> subprocess.Popen[bytes]:
    """A leader (in a new session) that runs `script`, whose background jobs stay in its group."""
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    proc.wait(timeout=10)
    return proc


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_process_left_behind_by_its_leader_is_ended_after_the_grace() -> None:
    proc = _group("sleep 300 & exit 0")
    try:
        left = group_members(proc.pid)
        assert len(left) == 1, "the leader's background sleep is still in its group"
        started = time.monotonic()
        assert end_leftovers(proc, grace=0.5) == left
        assert time.monotonic() - started >= 0.5, "it waited the grace before killing"
        deadline = time.monotonic() + 10
        while not _gone(left[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(left[0]), "the leftover still runs"
    finally:
        for pid in group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_member_that_finishes_by_itself_within_the_grace_is_not_killed() -> None:
    proc = _group("sleep 0.3 & exit 0")
    try:
        assert end_leftovers(proc, grace=10) == []
        assert group_members(proc.pid) == []
    finally:
        for pid in group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
