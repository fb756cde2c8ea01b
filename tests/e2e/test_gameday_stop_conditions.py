"""The error-rate and p95 stop conditions fire in a real game day, and only when crossed.

A short game day on the embedded shop (checkouts only, 10 req/s, 45 s planned) slows the payment
provider from a few seconds in. At 4 s a call it is past the orders service's 2 s upstream
timeout: every order fails (about a third of the requests). At 1.2 s a call it is inside it:
every order is confirmed, 2.5 s late (an eighth of the requests). With the condition's threshold
well under what the fault causes, the game day stops early, rolls the fault back and is NO-GO
naming the condition; with it well over, the same game day runs to its planned end.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from doorbuster.gameday.feed import LiveFeed
from retailflow.payments.domain.model import ProviderSettings
from tests.support.census import FamilyWatch, naming
from tests.support.gameday import reap_gameday, shop_goes_down, start_gameday
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

PLANNED_S = 45
FAULT = "slow-payment-provider"
TRAFFIC = {"name": "checkouts", "one_x_rps": 10, "mix": {"checkout": 100},
           "think_time_s": {"min": 0.1, "max": 0.4}, "doorbuster_share": 0.0, "seed": 7}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """A fault and a condition: `fires` is well under what the fault causes, `holds` well over it."""

    provider_latency_ms: int
    condition: str  # its name in stop.json, the progress line and the report
    metric: str
    fires: dict[str, Any]
    holds: dict[str, Any]
    crossed: float  # what the progress line shows once the fault is in force, at least

    def measured(self, out: str) -> list[float]:
        """The condition's figure on every live progress line."""
        pattern = rf"stop\[{self.condition}\] ([\d.,]+)(?:%| ms)"
        return [float(value.replace(",", "")) for value in re.findall(pattern, out)]


ERRORS = Case(4000, "error-rate", "error_rate", {"kind": "error_rate", "above": "10%", "for": "5s"},
              {"kind": "error_rate", "above": "75%", "for": "5s"}, crossed=10.0)  # fmt: skip
LATENCY = Case(1200, "latency-p95", "latency_p95_ms", {"kind": "latency_p95", "above_ms": 1500, "for": "5s"},
               {"kind": "latency_p95", "above_ms": 15000, "for": "5s"}, crossed=1500.0)  # fmt: skip
CASES = pytest.mark.parametrize("case", [ERRORS, LATENCY], ids=["error_rate", "latency_p95"])


def _write_gameday(folder: Path, case: Case, condition: dict[str, Any]) -> str:
    (folder / "checkouts.yaml").write_text(yaml.safe_dump(TRAFFIC))
    fault_vars = {
        "provider_latency_ms": case.provider_latency_ms,
        "fault_s": 35,  # in force until about 5 s before the planned end
        "window_s": 1,  # the experiment's own before-check: short, and lenient on a loaded machine
        "max_p95_ms": 30000,
    }
    gameday = {"name": "slow-provider", "traffic_profile": "checkouts.yaml", "shape": "steady",
               "shape_args": {"duration": PLANNED_S}, "products": 200,
               "chaos": [{"experiment": FAULT, "at": "2s", "vars": fault_vars, "timeout": "2m"}],
               "stop_conditions": [condition]}  # fmt: skip
    (folder / "day.yaml").write_text(yaml.safe_dump(gameday))
    return "day.yaml"


def _run(tmp_path: Path, case: Case, condition: dict[str, Any]) -> tuple[int, str, float]:
    """The game day to its end: exit code, output, wall seconds; it must leave no process behind."""
    assert not naming(tmp_path), "processes of this folder before the test: the census would mean nothing"
    run = tmp_path / "run"
    started = time.monotonic()
    proc = start_gameday(tmp_path, _write_gameday(tmp_path, case, condition), "--run-dir", str(run))
    family = FamilyWatch(proc.pid)
    try:
        with family:
            out, _ = proc.communicate(timeout=400)
        took = time.monotonic() - started
        shop_down = shop_goes_down(run, within_s=30)
        left = wait_until(lambda: not naming(tmp_path) and not family.survivors(), timeout=30, interval=0.5,
                          what="every process of the game day to be gone")  # fmt: skip
    finally:
        reap_gameday(proc, run, family)
    assert shop_down and left, "a process outlived the game day"
    assert len(family.seen) >= 5, family.seen  # the census saw the shop, the load and the experiment
    return proc.returncode, out, took


def _load_span(run: Path) -> float:
    """Seconds from the plan's first tick to Locust's last sample: how long the load really ran."""
    feed = LiveFeed(run)
    feed.poll(time.time())
    assert feed.t0 is not None and feed.samples, "the load recorded nothing"
    return feed.samples[-1].ts - feed.t0


def _provider(run: Path) -> ProviderSettings:
    with sqlite3.connect(run / "shop" / "payments.db") as db:
        latency_ms, failure_rate = db.execute("SELECT latency_ms, failure_rate FROM provider_settings").fetchone()
    return ProviderSettings(int(latency_ms), float(failure_rate))


@CASES
def test_the_condition_crossed_stops_the_game_day_early_heals_the_fault_and_is_no_go(
    tmp_path: Path, case: Case
) -> None:
    rc, out, took = _run(tmp_path, case, case.fires)
    run = tmp_path / "run"
    assert (run / "stop.json").is_file(), f"the game day was not stopped early:\n{out[-4000:]}"
    assert rc == 1, out[-4000:]
    stop = json.loads((run / "stop.json").read_text())
    assert (stop["kind"], stop["condition"], stop["metric"]) == ("stop_condition", case.condition, case.metric), stop
    assert stop["measured"] > stop["threshold"], stop
    # Early: fired with the fault in force, and the load stopped then, well before its planned end.
    span = _load_span(run)
    assert stop["offset_s"] < PLANNED_S - 10 and span < stop["offset_s"] + 5, (stop, span, took)
    print(f"{case.condition}: fired at +{stop['offset_s']} s, load ran {span:.0f} s of {PLANNED_S} s, "
          f"measured {stop['measured']:g} over {stop['threshold']:g}; the game day took {took:.0f} s")  # fmt: skip
    # The fault in flight was rolled back: the experiment healed the provider before it exited.
    assert stop["rolled_back"] == [f"{FAULT}#0"] and stop["not_started"] == [], stop
    verdict = json.loads((run / "chaos" / f"{FAULT}.verdict.json").read_text())
    assert verdict["verdict"] == "interrupted", verdict
    assert _provider(run) == ProviderSettings(), "the payment provider was left slow"
    assert f"stop condition '{case.condition}' fired" in out and f"rolling back {FAULT}#0" in out, out[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "NO-GO", summary
    assert summary["reasons"][0].startswith(f"stopped early: stop condition '{case.condition}'"), summary["reasons"]
    assert f"stopped early: stop condition '{case.condition}'" in html.unescape((run / "report.html").read_text())


@CASES
def test_the_same_game_day_with_the_condition_not_crossed_runs_to_its_planned_end(tmp_path: Path, case: Case) -> None:
    _, out, took = _run(tmp_path, case, case.holds)
    run = tmp_path / "run"
    # The condition watched the whole load, and saw the fault: past the threshold that fires above.
    measured = case.measured(out)
    assert measured and max(measured) > case.crossed, out[-3000:]
    assert not (run / "stop.json").exists(), out[-3000:]
    assert "stop condition" not in out and "rolling back" not in out, out[-3000:]
    span = _load_span(run)
    assert span >= PLANNED_S - 3, (span, took)
    print(f"{case.condition}: not crossed (highest {max(measured):g}), load ran {span:.0f} s of {PLANNED_S} s; "
          f"the game day took {took:.0f} s")  # fmt: skip
    summary = json.loads((run / "summary.json").read_text())
    assert not any(reason.startswith("stopped early") for reason in summary["reasons"]), summary["reasons"]
    verdict = json.loads((run / "chaos" / f"{FAULT}.verdict.json").read_text())
    assert verdict["verdict"] != "interrupted", verdict  # the fault ran its course and healed itself
    assert _provider(run) == ProviderSettings()
