"""The suite's main job end to end: the quick game day (`smoke`: a pod kill and a dual-write
partition inside a minute of load) against the embedded shop, whole and interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support.census import FamilyWatch, naming
from tests.support.gameday import reap_gameday, shop_goes_down, shop_is_down, start_gameday
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


def _gameday(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return start_gameday(tmp_path, "--quick", "--run-dir", str(tmp_path / "run"), *args)


def _status(run: Path) -> dict[str, object] | None:
    """`doorbuster status` on the game day's shop, as a user would watch it."""
    result = subprocess.run([sys.executable, "-m", "doorbuster.cli", "status", "--data-dir", str(run / "shop"),
                             "--json"], capture_output=True, text=True, timeout=30)  # fmt: skip
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_the_quick_game_day_with_a_pod_kill_and_a_partition_is_go_on_a_healthy_shop(tmp_path: Path) -> None:
    proc = _gameday(tmp_path)
    run = tmp_path / "run"
    try:
        # While it runs, `doorbuster status` shows its shop like any other.
        status = wait_until(lambda: _status(run), timeout=240, interval=1, what="the shop to answer status")
        out, _ = proc.communicate(timeout=400)
        # The game day takes the shop down before it ends; its supervisor gets a moment to exit.
        shop_down = shop_goes_down(run, within_s=10)
    finally:
        reap_gameday(proc, run)
    assert {pod["service"] for pod in status["pods"]} >= {"gateway", "orders", "inventory"}  # type: ignore[index]
    # A healthy shop meets its SLOs through a pod kill and a partition: GO, nothing else.
    assert proc.returncode == 0, out[-4000:]
    assert shop_down, "the shop's supervisor outlived the game day"
    for name in (
        "report.html",
        "summary.json",
        "junit.xml",
        "audit.json",
        "ledger.csv",
        "meta.json",
        "planned_rate.csv",
        "locust_stats.csv",
    ):
        assert (run / name).is_file(), f"{name} missing; output:\n{out[-3000:]}"
    verdicts = {
        p.name.split(".")[0]: json.loads(p.read_text())["verdict"] for p in (run / "chaos").glob("*.verdict.json")
    }
    assert verdicts == {"kill-gateway-pod": "passed", "partition-inventory-legacy": "passed"}, out[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["exit_code"] == 0 and summary["total_requests"] > 500
    audit = json.loads((run / "audit.json").read_text())
    assert audit["ok"] is True, audit
    ledger = pd.read_csv(run / "ledger.csv")
    assert len(ledger) > 0 and ledger["order_id"].is_unique
    assert not (run / "stop.json").exists()
    assert "fault partition-inventory-legacy#1 started" in out and "+0:" in out  # live progress, plain lines


def _link_cut(run: Path) -> bool:
    status = _status(run)
    return bool(status) and any(link["state"] != "ok" for link in status["links"])  # type: ignore[index]


def test_sigterm_mid_partition_heals_it_takes_the_shop_down_reports_and_leaves_no_process(tmp_path: Path) -> None:
    assert not naming(tmp_path), "processes of this folder before the test: the census would mean nothing"
    proc = _gameday(tmp_path)
    run = tmp_path / "run"
    family = FamilyWatch(proc.pid)
    try:
        with family:
            # Interrupt while the partition is in force: the link is cut, the load flowing.
            wait_until(lambda: _link_cut(run), timeout=300, interval=0.5, what="the partition to cut its link")
            os.kill(proc.pid, signal.SIGTERM)
            out, _ = proc.communicate(timeout=240)
        shop_down = shop_goes_down(run, within_s=60)
        left = wait_until(
            lambda: not naming(tmp_path) and not family.survivors(),
            timeout=30,
            interval=0.5,
            what="every process of the game day to be gone",
        )
    finally:
        reap_gameday(proc, run, family)
    assert proc.returncode == 130, out[-3000:]
    assert shop_down and left, "a process outlived the interrupted game day"
    assert len(family.seen) >= 5  # the census saw the shop, the load and the experiments come and go
    assert "interrupted (SIGTERM)" in out and "rolling back partition-inventory-legacy#1" in out, out[-3000:]
    stop = json.loads((run / "stop.json").read_text())
    assert (stop["kind"], stop["condition"]) == ("interrupted", "SIGTERM")
    assert stop["rolled_back"] == ["partition-inventory-legacy#1"], stop
    verdict = json.loads((run / "chaos" / "partition-inventory-legacy.verdict.json").read_text())
    assert verdict["verdict"] == "interrupted", verdict  # its faults healed before it exited
    summary = json.loads((run / "summary.json").read_text())
    # Never GO, and the interruption is one of the reasons (a breach measured before it comes first).
    assert summary["verdict"] != "GO", summary
    assert any(reason.startswith("interrupted (SIGTERM)") for reason in summary["reasons"]), summary["reasons"]
    assert (run / "report.html").is_file()


def test_ctrl_c_while_the_shop_starts_takes_it_down_and_still_writes_a_report(tmp_path: Path) -> None:
    proc = _gameday(tmp_path)
    run = tmp_path / "run"
    family = FamilyWatch(proc.pid)
    try:
        with family:
            wait_until(
                lambda: (run / "shop" / "runtime.json").is_file(), timeout=120, interval=0.2, what="the shop to start"
            )
            os.kill(proc.pid, signal.SIGINT)
            out, _ = proc.communicate(timeout=180)
        left = wait_until(
            lambda: shop_is_down(run) and not naming(tmp_path) and not family.survivors(),
            timeout=60,
            interval=0.5,
            what="every process of the game day to be gone",
        )
    finally:
        reap_gameday(proc, run, family)
    assert proc.returncode == 130, out[-3000:]
    assert left
    assert json.loads((run / "stop.json").read_text())["offset_s"] is None  # before the load started
    # Nothing was measured; the last line never points at a report that was not written.
    assert ("report → " in out) == (run / "report.html").is_file(), out[-3000:]
