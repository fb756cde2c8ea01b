"""The gate can fail. A game day runs against a shop already up (`--host URL --data-dir DIR`);
once its dual-write partition is in force, the shop is sabotaged: the payment provider slowed,
units lost from the inventory store. The integrity stop condition fires, the partition is
rolled back, the next experiment never starts, and the verdict is NO-GO naming the condition
and the SLOs that broke (checkout-p95, stock_conservation)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.census import naming
from tests.support.processes import wait_until
from tests.support.shop import Shop, running_shop

pytestmark = pytest.mark.slow

LOST_UNITS = 3
# Checkout-heavy traffic, so the stretch between the sabotage and the stop holds enough
# checkouts for a p95 (the ci profile's mix otherwise).
TRAFFIC = {
    "name": "checkouts",
    "one_x_rps": 20,
    "mix": {"browse": 30, "search": 10, "checkout": 60},
    "think_time_s": {"min": 0.1, "max": 0.4},
    "doorbuster_share": 0.0,
    "seed": 7,
}
GAMEDAY = {
    "name": "sabotage",
    "traffic_profile": "checkouts.yaml",
    "shape": "ramp",
    "shape_args": {"steps": [1], "step_s": 90},
    "chaos": [
        {"experiment": "partition-inventory-legacy", "at": "2s", "vars": {"fault_s": 80}, "timeout": "3m"},
        {"experiment": "kill-orders-pod", "at": "80s"},
    ],
    "stop_conditions": [
        {"kind": "integrity", "every": "10s", "consecutive": 2},
        {"kind": "error_rate", "above": "50%", "for": "20s"},
    ],
}


def _sabotage(shop: Shop) -> str:
    # Every provider call takes 1.7 s: authorize + capture put a checkout past its 3 s p95 target,
    # each call still inside the orders service's 2 s upstream timeout.
    answer = requests.put(shop.service_url("payments") + "/admin/provider",
                          json={"latency_ms": 1700, "failure_rate": 0}, timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    # Units vanish from a quiet SKU of the new store: initial no longer = available + reserved + sold.
    with sqlite3.connect(shop.data_dir / "inventory.db") as db:
        sku = db.execute(
            "SELECT sku FROM stock WHERE available >= ? ORDER BY sku DESC LIMIT 1", (LOST_UNITS,)
        ).fetchone()[0]
        db.execute("UPDATE stock SET available = available - ? WHERE sku = ?", (LOST_UNITS, sku))
    return str(sku)


def test_a_shop_sabotaged_mid_partition_stops_the_game_day_and_is_no_go_naming_what_broke(tmp_path: Path) -> None:
    (tmp_path / "checkouts.yaml").write_text(yaml.safe_dump(TRAFFIC))
    (tmp_path / "sabotage.yaml").write_text(yaml.safe_dump(GAMEDAY))
    run = tmp_path / "run"
    with running_shop(tmp_path / "shop") as shop:
        proc = subprocess.Popen(
            [sys.executable, "-m", "doorbuster.cli", "gameday", "sabotage.yaml", "--host", shop.url,
             "--data-dir", str(shop.data_dir), "--run-dir", str(run)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            wait_until(
                lambda: any(link["state"] != "ok" for link in shop.client.links()),
                timeout=120,
                interval=0.5,
                what="the partition to cut its link",
            )
            sku = _sabotage(shop)
            out, _ = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # The partition was rolled back, and the shop it was pointed at is left running.
        status = shop.client.status()
        assert status["all_ready"] and all(link["state"] == "ok" for link in status["links"]), out[-3000:]
    assert proc.returncode == 1, out[-4000:]
    stop = json.loads((run / "stop.json").read_text())
    assert (stop["kind"], stop["condition"], stop["metric"]) == ("stop_condition", "integrity", "invariant_violations")
    assert sku in stop["detail"] and stop["offset_s"] < 80, stop  # well before the planned 90 s
    assert stop["rolled_back"] == ["partition-inventory-legacy#0"] and stop["not_started"] == ["kill-orders-pod#1"]
    verdict = json.loads((run / "chaos" / "partition-inventory-legacy.verdict.json").read_text())
    assert verdict["verdict"] == "interrupted", verdict
    assert not (run / "chaos" / "kill-orders-pod.journal.json").exists()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "NO-GO"
    assert summary["reasons"][0].startswith("stopped early: stop condition 'integrity'"), summary["reasons"]
    reasons = "\n".join(summary["reasons"])
    assert "checkout-p95 breached" in reasons, reasons
    assert "stock_conservation" in reasons, reasons
    broken = {inv["name"] for inv in json.loads((run / "audit.json").read_text())["invariants"] if not inv["ok"]}
    assert "stock_conservation" in broken
    assert "stop condition 'integrity' fired" in out and "rolling back partition-inventory-legacy#0" in out
    assert not naming(run), "a process of the game day outlived it"
