"""The gate can fail: a game day against a sabotaged shop (a slow payment provider, stock lost
from the inventory store) stops on its integrity condition and comes out NO-GO, naming the
SLOs that broke. Runs against a shop already up (`--host URL --data-dir DIR`)."""

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
from tests.support.shop import running_shop

pytestmark = pytest.mark.slow

LOST_UNITS = 3


def _sabotage(data_dir: Path, payments_url: str) -> str:
    # Every provider call takes 1.7 s: authorize + capture put a checkout past its 3 s p95 target,
    # each call still inside the orders service's 2 s upstream timeout.
    answer = requests.put(payments_url + "/admin/provider", json={"latency_ms": 1700, "failure_rate": 0}, timeout=10)
    assert answer.status_code == 200, answer.text
    # Units vanish from a quiet SKU of the new store: initial no longer = available + reserved + sold.
    with sqlite3.connect(data_dir / "inventory.db") as db:
        sku = db.execute("SELECT sku FROM stock WHERE available >= ? ORDER BY sku DESC LIMIT 1",
                         (LOST_UNITS,)).fetchone()[0]
        db.execute("UPDATE stock SET available = available - ? WHERE sku = ?", (LOST_UNITS, sku))
    return str(sku)


def test_a_sabotaged_shop_stops_early_and_is_no_go_naming_what_broke(tmp_path: Path) -> None:
    day = tmp_path / "sabotage.yaml"
    day.write_text(yaml.safe_dump({
        "name": "sabotage", "traffic_profile": "ci", "shape": "ramp",
        "shape_args": {"steps": [1, 2], "step_s": 30},
        "stop_conditions": [{"kind": "integrity", "every": "8s", "consecutive": 2}],
    }))
    run = tmp_path / "run"
    with running_shop(tmp_path / "shop") as shop:
        sku = _sabotage(shop.data_dir, shop.service_url("payments"))
        result = subprocess.run(
            [sys.executable, "-m", "doorbuster.cli", "gameday", str(day), "--host", shop.url,
             "--data-dir", str(shop.data_dir), "--run-dir", str(run)],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        out = result.stdout + result.stderr
        # The shop it was pointed at is not the game day's to take down.
        assert shop.client.status()["all_ready"], out[-3000:]
    assert result.returncode == 1, out[-4000:]
    stop = json.loads((run / "stop.json").read_text())
    assert (stop["kind"], stop["condition"], stop["metric"]) == ("stop_condition", "integrity", "invariant_violations")
    assert sku in stop["detail"] and stop["offset_s"] < 50, stop  # stopped well before the planned 60 s
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "NO-GO"
    assert summary["reasons"][0].startswith("stopped early: stop condition 'integrity'"), summary["reasons"]
    reasons = "\n".join(summary["reasons"])
    assert "checkout-p95 breached" in reasons, reasons
    assert "stock_conservation" in reasons, reasons
    audit = json.loads((run / "audit.json").read_text())
    broken = {inv["name"] for inv in audit["invariants"] if not inv["ok"]}
    assert "stock_conservation" in broken, audit
    assert "stop condition 'integrity'" in out and "NO-GO" in out
    assert not naming(run), "a process of the game day outlived it"
