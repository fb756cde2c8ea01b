"""A game day stopped early: the report names the condition, when and what was measured, and
the verdict is NO-GO; an interrupted one is never GO."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from doorbuster.reports.build import build_report
from doorbuster.reports.synthetic import SyntheticRun

THREE_STEPS = ((1.0, 30.0, "steady"), (5.0, 30.0, "steady"), (10.0, 30.0, "steady"))


def _stop(run: Path, **fields: object) -> None:
    record = {
        "kind": "stop_condition",
        "condition": "error-rate",
        "rule": "error rate above 5% for 20 s",
        "fired_at": "2025-11-24T16:00:42+00:00",
        "fired_ts": 1_764_000_042.0,
        "offset_s": 42.0,
        "measured": 0.31,
        "threshold": 0.05,
        "metric": "error_rate",
        "detail": "31.00% of 1,204 requests failed in the last 20 s (limit 5%)",
        "rolled_back": ["kill-orders-pod#0"],
        "not_started": ["partition-dual-write#1"],
        **fields,
    }
    (run / "stop.json").write_text(json.dumps(record))


def test_a_clean_run_is_go_without_a_stop_record(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS).write(tmp_path / "run")
    assert build_report(run).verdict == "GO"


def test_a_fired_stop_condition_makes_a_clean_run_no_go_and_says_why(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS).write(tmp_path / "run")
    _stop(run)
    ev = build_report(run)
    assert (ev.verdict, ev.exit_code) == ("NO-GO", 1)
    assert ev.reasons[0] == (
        "stopped early: stop condition 'error-rate' (error rate above 5% for 20 s) fired +42 s into the load "
        "(2025-11-24T16:00:42+00:00): 31.00% of 1,204 requests failed in the last 20 s (limit 5%); "
        "rolled back: kill-orders-pod#0; not started: partition-dual-write#1"
    )
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"] == "NO-GO" and summary["reasons"][0].startswith("stopped early")
    failures = [
        case.get("name") for case in ET.parse(run / "junit.xml").iter("testcase") if case.find("failure") is not None
    ]
    assert failures == ["stop condition: error-rate"]
    assert "stopped early: stop condition" in (run / "report.html").read_text()


def test_an_interrupted_run_is_inconclusive_at_best(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS).write(tmp_path / "run")
    _stop(
        run,
        kind="interrupted",
        condition="SIGINT",
        rule="interrupted by SIGINT",
        measured=None,
        threshold=None,
        metric="signal",
        rolled_back=[],
        not_started=[],
    )
    ev = build_report(run)
    assert ev.verdict == "INCONCLUSIVE"
    assert ev.reasons[0].startswith("interrupted (SIGINT) +42 s into the load")


def test_an_experiment_that_overran_its_timeout_is_named_apart_from_the_rollback(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS).write(tmp_path / "run")
    _stop(run, timed_out=["partition-inventory-legacy#0"])
    reason = build_report(run).reasons[0]
    assert reason.endswith(
        "rolled back: kill-orders-pod#0; not started: partition-dual-write#1; "
        "ended by the game day for running past its timeout (healed): partition-inventory-legacy#0"
    )
