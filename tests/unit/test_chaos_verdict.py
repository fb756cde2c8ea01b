"""The verdict comes from the journal: each rule has a journal where it comes out the other way."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from doorbuster.experiment_verdict import fault_window, judge


def _run(name: str, kind: str, start: str, end: str, status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {
        "activity": {"type": kind, "name": name, "provider": {"type": "python", "func": extra.pop("func", name)}},
        "status": status,
        "start": f"2026-11-27T10:00:{start}+00:00",
        "end": f"2026-11-27T10:00:{end}+00:00",
        **extra,
    }


def _state(met: bool, probes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"steady_state_met": met, "probes": probes or []}


def passing_journal() -> dict[str, Any]:
    return {
        "experiment": {"title": "Partition"},
        "status": "completed",
        "deviated": False,
        "steady_states": {"before": _state(True), "after": _state(True), "during": []},
        "run": [
            _run("partition-inventory->legacy", "action", "10.000", "20.000"),
            _run("legacy-converges-after-the-heal", "probe", "20.000", "20.500"),
        ],
        "rollbacks": [_run("heal", "action", "30.000", "30.100")],
    }


def missed_probe(name: str, output: Any, func: str = "synthetic_traffic") -> dict[str, Any]:
    return {**_run(name, "probe", "01.000", "02.000", output=output, func=func), "tolerance_met": False}


def test_a_clean_journal_passes() -> None:
    verdict = judge(passing_journal(), "partition")
    assert (verdict.verdict, verdict.reasons) == ("passed", [])


def test_a_missed_before_check_fails_naming_the_probe_and_its_breach() -> None:
    journal = passing_journal()
    probe = missed_probe("shoppers-browse", {"breaches": ["error rate 0.500 over 0 (2 of 4)"], "violations": 1})
    journal["steady_states"]["before"] = _state(False, [probe])
    journal["status"] = "failed"
    journal["run"] = []
    verdict = judge(journal, "partition")
    assert verdict.verdict == "failed"
    assert verdict.reasons == ["before the fault, shoppers-browse: error rate 0.500 over 0 (2 of 4)"]


def test_a_missed_after_check_fails() -> None:
    journal = passing_journal()
    probe = missed_probe("nothing-lost", {"broken": ["legacy_convergence"], "violations": 3}, func="integrity_audit")
    journal["steady_states"]["after"] = _state(False, [probe])
    journal["deviated"] = True
    verdict = judge(journal, "partition")
    assert verdict.verdict == "failed"
    assert verdict.reasons == ["after the fault, nothing-lost: broken invariants legacy_convergence"]


def test_a_missed_during_check_fails() -> None:
    journal = passing_journal()
    journal["steady_states"]["during"] = [_state(True), _state(False, [missed_probe("ready", {"violations": 1})])]
    assert judge(journal, "x").reasons == ["during the fault, ready: got {'violations': 1}"]


def test_a_failed_method_activity_fails_even_though_chaos_run_exits_zero() -> None:
    journal = passing_journal()
    prefix = "chaoslib.exceptions.ActivityFailed: "
    error = f"{prefix}{prefix}legacy did not converge within 2 s\n"
    journal["run"][1].update(status="failed", exception=["Traceback ...\n", error])
    verdict = judge(journal, "partition")
    assert verdict.verdict == "failed"
    assert verdict.reasons == ["probe legacy-converges-after-the-heal failed: legacy did not converge within 2 s"]


def test_a_failed_rollback_fails() -> None:
    journal = passing_journal()
    journal["rollbacks"][0].update(status="failed", exception=["ActivityFailed: no link 'x'\n"])
    assert judge(journal, "p").reasons == ["rollback heal failed: no link 'x'"]


def test_an_interrupted_run_is_interrupted_not_passed() -> None:
    journal = passing_journal()
    journal["status"] = "interrupted"
    assert judge(journal, "p").verdict == "interrupted"


def test_an_experiment_that_does_not_apply_is_skipped_with_its_reason() -> None:
    journal = passing_journal()
    reason = "applies to the services storage profile only; this shop runs the embedded profile"
    probe = missed_probe("applies", {"applies": False, "reason": reason, "violations": 1}, func="experiment_applies")
    journal["steady_states"]["before"] = _state(False, [probe])
    journal["run"] = []
    verdict = judge(journal, "cache-loss")
    assert (verdict.verdict, verdict.reasons) == ("skipped", [reason])
    # The same miss from any other probe is a failure, not a skip.
    other = copy.deepcopy(journal)
    other["steady_states"]["before"]["probes"][0]["activity"]["provider"]["func"] = "synthetic_traffic"
    assert judge(other, "cache-loss").verdict == "failed"


def test_the_fault_window_is_the_method_actions_not_the_rollbacks() -> None:
    window = fault_window(passing_journal())
    assert window is not None
    assert window.action == "partition-inventory->legacy"
    assert window.end - window.start == pytest.approx(10.0)


def test_an_interrupted_fault_window_ends_with_the_rollback_that_healed_it() -> None:
    journal = passing_journal()
    journal["status"] = "interrupted"
    window = fault_window(journal)
    assert window is not None
    assert window.end - window.start == pytest.approx(20.1)


def test_a_journal_without_actions_has_no_fault_window() -> None:
    journal = passing_journal()
    journal["run"] = [r for r in journal["run"] if r["activity"]["type"] == "probe"]
    assert fault_window(journal) is None
