"""The suite's main job end to end: a short game day against the embedded shop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from retailflow.runtime.state import is_alive
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


def _gameday(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doorbuster.cli", "gameday", "--quick", "--run-dir", str(tmp_path / "run"), *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _shop_is_down(run: Path) -> bool:
    """Judged as the runtime judges it: a zombie is gone (PID 1 may reap an orphan seconds late),
    and a PID reused since is not the supervisor."""
    path = run / "shop" / "runtime.json"
    if not path.is_file():
        return True  # no shop was started
    state = json.loads(path.read_text())
    return not is_alive(int(state["pid"]), state.get("create_time"))


def _shop_goes_down(run: Path, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not _shop_is_down(run):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _reap(proc: subprocess.Popen[str], run: Path) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if not _shop_is_down(run):  # a failed test leaves no shop behind
        subprocess.run([sys.executable, "-m", "doorbuster.cli", "down", "--data-dir", str(run / "shop")],
                       capture_output=True, timeout=120)  # fmt: skip


def test_a_quick_game_day_writes_a_complete_run_folder_and_leaves_no_process(tmp_path: Path) -> None:
    proc = _gameday(tmp_path)
    run = tmp_path / "run"
    try:
        out, _ = proc.communicate(timeout=400)
        # The game day takes the shop down before it ends; its supervisor gets a moment to exit.
        shop_down = _shop_goes_down(run, within_s=10)
    finally:
        _reap(proc, run)
    # A healthy shop under the quick game day's load meets its SLOs: GO, nothing else.
    assert proc.returncode == 0, out[-3000:]
    assert shop_down, "the shop's supervisor outlived the game day"
    for name in ("report.html", "summary.json", "junit.xml", "audit.json", "ledger.csv", "meta.json",
                 "planned_rate.csv", "locust_stats.csv"):
        assert (run / name).is_file(), f"{name} missing; output:\n{out[-3000:]}"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["exit_code"] == proc.returncode
    assert summary["total_requests"] > 500
    audit = json.loads((run / "audit.json").read_text())
    assert audit["ok"] is True, audit
    ledger = pd.read_csv(run / "ledger.csv")
    assert len(ledger) > 0 and ledger["order_id"].is_unique


def test_an_interrupted_game_day_takes_the_shop_down_and_still_reports(tmp_path: Path) -> None:
    proc = _gameday(tmp_path, "--duration", "120")
    run = tmp_path / "run"
    try:
        # Interrupt once load is flowing: the recorder has written Locust's history.
        wait_until(lambda: (run / "locust_stats_history.csv").is_file()
                   and (run / "locust_stats_history.csv").stat().st_size > 2000,
                   timeout=240, interval=0.5, what="load to start")
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=240)
        shop_down = _shop_goes_down(run, within_s=60)
    finally:
        _reap(proc, run)
    assert proc.returncode == 130, out[-3000:]
    assert shop_down, "the shop outlived the interrupted game day"
    assert "interrupted" in out
    assert (run / "report.html").is_file() and (run / "summary.json").is_file(), out[-3000:]
