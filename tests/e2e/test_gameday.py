"""The suite's main job end to end: a short game day against the embedded shop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


def _gameday(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doorbuster.cli", "gameday", "--quick", "--run-dir", str(tmp_path / "run"), *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _supervisor_pid(run: Path) -> int:
    return int(json.loads((run / "shop" / "runtime.json").read_text())["pid"])


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_quick_game_day_writes_a_complete_run_folder_and_leaves_no_process(tmp_path: Path) -> None:
    proc = _gameday(tmp_path)
    try:
        out, _ = proc.communicate(timeout=400)
    finally:
        _reap(proc)
    run = tmp_path / "run"
    # An honest verdict: GO, NO-GO or INCONCLUSIVE; never "could not evaluate" or "shop unreachable".
    assert proc.returncode in (0, 1, 3), out[-3000:]
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
    assert not psutil.pid_exists(_supervisor_pid(run)), "the shop's supervisor outlived the game day"


def test_an_interrupted_game_day_takes_the_shop_down_and_still_reports(tmp_path: Path) -> None:
    proc = _gameday(tmp_path, "--duration", "120")
    run = tmp_path / "run"
    try:
        # Interrupt once load is flowing: the recorder has written Locust's history.
        wait_until(lambda: (run / "locust_stats_history.csv").is_file()
                   and (run / "locust_stats_history.csv").stat().st_size > 2000,
                   timeout=240, interval=0.5, what="load to start")
        supervisor = _supervisor_pid(run)
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=240)
    finally:
        _reap(proc)
    assert proc.returncode == 130, out[-3000:]
    assert "interrupted" in out
    assert (run / "report.html").is_file() and (run / "summary.json").is_file(), out[-3000:]
    wait_until(lambda: not psutil.pid_exists(supervisor), timeout=60, what="the shop to be down")
