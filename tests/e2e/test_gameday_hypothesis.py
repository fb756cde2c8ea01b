"""A game day whose experiment fails its hypothesis is NO-GO, and says so while it runs.

The shop is broken the way tests/integration/test_chaos_hypotheses_fail.py breaks it: its
dual-write relay sleeps once it has caught up (15 s here), so under checkouts legacy does not
converge within the partition experiment's converge_s of 3 s. Once the load stops, the relay
catches up within the final audit's 30 s of settling: every SLO met, the audit clean, the failed
hypothesis alone makes the game day NO-GO, in the live progress, summary.json and junit.xml.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.support.census import naming
from tests.support.shop import running_shop

pytestmark = pytest.mark.slow

EXPERIMENT = "partition-inventory-legacy"
LAGGING_RELAY = {"RF_INVENTORY_RELAY_POLL_S": "15", "RF_INVENTORY_RECONCILE_INTERVAL_S": "0"}
TRAFFIC = {"name": "checkouts", "one_x_rps": 10, "mix": {"browse": 40, "search": 10, "checkout": 50},
           "think_time_s": {"min": 0.1, "max": 0.4}, "doorbuster_share": 0.0, "seed": 7}  # fmt: skip
GAMEDAY = {
    "name": "lagging-legacy", "traffic_profile": "checkouts.yaml", "shape": "ramp",
    "shape_args": {"steps": [1], "step_s": 60},
    "chaos": [{"experiment": EXPERIMENT, "at": "5s", "vars": {"fault_s": 6, "converge_s": 3}, "timeout": "2m"}],
}  # fmt: skip


def test_a_game_day_whose_experiment_fails_its_hypothesis_is_no_go_naming_it(tmp_path: Path) -> None:
    (tmp_path / "checkouts.yaml").write_text(yaml.safe_dump(TRAFFIC))
    (tmp_path / "lagging-legacy.yaml").write_text(yaml.safe_dump(GAMEDAY))
    run = tmp_path / "run"
    with running_shop(tmp_path / "shop", LAGGING_RELAY) as shop:
        argv = ["gameday", "lagging-legacy.yaml", "--host", shop.url, "--data-dir", str(shop.data_dir), "--run-dir",
                str(run)]  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "doorbuster.cli", *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=420)  # fmt: skip
    out = done.stdout
    verdict = json.loads((run / "chaos" / f"{EXPERIMENT}.verdict.json").read_text())
    assert verdict["verdict"] == "failed", verdict
    # The live line says the verdict file's first reason, not "hypothesis held" from exit code 1.
    assert f"(hypothesis FAILED: {verdict['reasons'][0]})" in out, out[-4000:]
    assert done.returncode == 1, out[-4000:]
    assert json.loads((run / "audit.json").read_text())["ok"] is True, "the shop itself must end intact"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "NO-GO"
    headline = "NO-GO: the partition inventory legacy experiment's hypothesis failed "  # before/after the fault, (why)
    assert summary["headline"].startswith(headline), summary["banner"]
    assert summary["banner"]["breaches"] == [f"experiment: {EXPERIMENT} failed ({verdict['title']}): "
                                             + "; ".join(verdict["reasons"])]  # fmt: skip
    row = next(r for r in summary["slos"] if r["name"] == f"experiment: {EXPERIMENT}")
    assert (row["kind"], row["verdict"], row["note"]) == ("experiment", "fail", "; ".join(verdict["reasons"]))
    suite = ET.fromstring((run / "junit.xml").read_bytes())
    case = next(c for c in suite if c.get("name") == f"experiment: {EXPERIMENT}")
    assert case.find("failure") is not None
    assert not naming(run), "a process of the game day outlived it"
