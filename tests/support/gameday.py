"""Run `doorbuster gameday` as a user does, in its own session, and prove it leaves nothing
behind: its shop judged down as the runtime judges it, every process of a failed test reaped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from retailflow.runtime.state import is_alive
from tests.support.census import FamilyWatch

__all__ = ["reap_gameday", "shop_goes_down", "shop_is_down", "start_gameday"]


def start_gameday(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`doorbuster gameday ARGS` from `cwd`, output captured, in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "doorbuster.cli", "gameday", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def shop_is_down(run: Path) -> bool:
    """Judged as the runtime judges it: a zombie is gone (PID 1 may reap an orphan seconds late),
    and a PID reused since is not the supervisor."""
    path = run / "shop" / "runtime.json"
    if not path.is_file():
        return True  # no shop was started
    state = json.loads(path.read_text())
    return not is_alive(int(state["pid"]), state.get("create_time"))


def shop_goes_down(run: Path, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not shop_is_down(run):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def reap_gameday(proc: subprocess.Popen[str], run: Path, family: FamilyWatch | None = None) -> None:
    """Whatever the test's outcome: the game day killed, its shop taken down, survivors killed."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if not shop_is_down(run):  # a failed test leaves no shop behind
        subprocess.run([sys.executable, "-m", "doorbuster.cli", "down", "--data-dir", str(run / "shop")],
                       capture_output=True, timeout=120)  # fmt: skip
    if family is not None:
        family.kill_survivors()
