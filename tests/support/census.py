"""A census of the processes a command started, to prove none outlives it.

Two views, because an orphan is re-parented and drops out of the family tree: every descendant
seen while the command ran (polled), and every process whose command line or environment names
the test's own folder (a shop's pods carry it in RF_DATA_DIR). A zombie counts as gone: PID 1
may reap an orphan seconds late.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil

from doorbuster.background import Background

__all__ = ["FamilyWatch", "naming"]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def naming(folder: Path) -> list[psutil.Process]:
    """Live processes whose command line or environment names `folder`."""
    text = str(folder)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if proc.pid == psutil.Process().pid or not _alive(proc):
                continue
            if text in " ".join(proc.info["cmdline"] or []) or any(text in v for v in proc.environ().values()):
                found.append(proc)
    return found


class FamilyWatch(Background):
    """Polls the descendants of `pid` while the block runs; `survivors()` are those still alive."""

    join_timeout_s = 5.0

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(self._poll)
        self.root = psutil.Process(pid)
        self.seen: dict[tuple[int, float], psutil.Process] = {}
        self._interval = interval

    def _poll(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(psutil.Error):
                for child in self.root.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        self.seen.setdefault((child.pid, child.create_time()), child)
            self.stop.wait(self._interval)

    def survivors(self) -> list[psutil.Process]:
        return [p for p in self.seen.values() if _alive(p)]

    def kill_survivors(self) -> None:
        for proc in self.survivors():
            with contextlib.suppress(psutil.Error):
                proc.kill()
