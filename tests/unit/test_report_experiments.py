"""Chaos experiments reach the verdict: a failed hypothesis is NO-GO naming it, the same run with
the hypothesis held is GO, a skipped experiment is visible with its reason and never a pass, an
interrupted one cannot vouch for a GO; report.html, summary.json and junit.xml say the same."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from doorbuster.cli import main
from doorbuster.experiment_verdict import Verdict, outcome, read_verdict
from doorbuster.reports.evaluate import evaluate
from doorbuster.reports.experiments import experiment_phrase
from doorbuster.reports.load import load_run
from doorbuster.reports.results import FAIL, NO_DATA, NOT_APPLICABLE, PASS
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.synthetic import FaultSpec, SyntheticRun
from doorbuster.reports.verdict import GO, INCONCLUSIVE, NO_GO

PAYMENT = "failing-payment-provider"
FAILED_HEADLINE = f"{NO_GO}: the failing payment provider experiment's hypothesis failed after the fault " \
                  "(stock_conservation broken)"  # fmt: skip


def _run(tmp_path: Path, *outcomes: str, verdict_file: bool = True) -> Path:
    """A healthy 90 s run with one experiment per outcome: every SLO met, nothing lost."""
    names = [PAYMENT, "kill-gateway-pod", "cache-loss", "freeze-inventory-pod"]
    faults = [
        FaultSpec(10 + 20 * i, 15 + 20 * i, action=name, title=f"The shop survives {name}", outcome=outcome,
                  name=name, verdict_file=verdict_file)
        for i, (name, outcome) in enumerate(zip(names, outcomes, strict=False))
    ]  # fmt: skip
    return SyntheticRun(stages=((1.0, 90.0, "steady"),), faults=faults).write(tmp_path / "run")


def _experiments(ev_results: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {r.name.removeprefix("experiment: "): r.verdict for r in ev_results if r.kind == "experiment"}


@pytest.mark.parametrize("verdict_file", [True, False], ids=["verdict.json", "journal only (plain chaos run)"])
def test_a_failed_hypothesis_is_no_go_naming_the_experiment_and_a_held_one_is_go(
    tmp_path: Path, verdict_file: bool
) -> None:
    failed = evaluate(load_run(_run(tmp_path / "a", "failed", verdict_file=verdict_file)), load_slo_file())
    assert _experiments(failed.results) == {PAYMENT: FAIL}
    # Every SLO met and the audit clean: the experiment alone makes it NO-GO.
    assert all(r.verdict in (PASS, NOT_APPLICABLE) for r in failed.results if r.kind != "experiment")
    assert failed.verdict == NO_GO
    assert failed.banner.headline == FAILED_HEADLINE
    assert failed.banner.breaches == (
        f"experiment: {PAYMENT} failed (The shop survives {PAYMENT}): after the fault, "
        "nothing-lost-oversold-or-charged-twice: broken invariants stock_conservation",
    )
    held = evaluate(load_run(_run(tmp_path / "b", "passed", verdict_file=verdict_file)), load_slo_file())
    assert _experiments(held.results) == {PAYMENT: PASS}
    assert held.verdict == GO, held.banner
    assert held.banner.headline.endswith(", nothing lost or oversold, 1 experiment hypothesis held")


def test_a_skipped_experiment_is_shown_with_its_reason_and_never_counts_as_held(tmp_path: Path) -> None:
    ev = evaluate(load_run(_run(tmp_path, "passed", "passed", "skipped")), load_slo_file())
    assert _experiments(ev.results) == {PAYMENT: PASS, "kill-gateway-pod": PASS, "cache-loss": NOT_APPLICABLE}
    assert ev.verdict == GO  # it does not apply to this shop: not a breach, not a pass either
    assert ev.banner.headline.endswith(", 2 experiment hypotheses held (1 skipped: see the warnings)")
    assert "not applicable: experiment: cache-loss: skipped: applies to the services storage profile only" in (
        ev.banner.warnings
    )
    # ...and the same run with that experiment failing instead is NO-GO.
    failed = evaluate(load_run(_run(tmp_path / "failed", "passed", "passed", "failed")), load_slo_file())
    assert failed.verdict == NO_GO
    assert failed.banner.headline.startswith(f"{NO_GO}: the cache loss experiment's hypothesis failed after the fault")


def test_an_interrupted_experiment_cannot_vouch_for_a_go(tmp_path: Path) -> None:
    ev = evaluate(load_run(_run(tmp_path, "passed", "interrupted")), load_slo_file())
    assert _experiments(ev.results) == {PAYMENT: PASS, "kill-gateway-pod": NO_DATA}
    assert ev.verdict == INCONCLUSIVE
    assert ev.banner.headline == f"{INCONCLUSIVE}: nothing failed, but the kill gateway pod experiment did not finish"


def test_a_verdict_without_a_journal_is_judged_and_a_broken_one_is_named(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "passed")
    (run_dir / "chaos" / f"{PAYMENT}.journal.json").unlink()
    nojournal = Verdict(PAYMENT, PAYMENT, "failed", ["Chaos Toolkit wrote no journal (exit 1); see chaos/x.log"])
    verdict_path = run_dir / "chaos" / f"{PAYMENT}.verdict.json"
    verdict_path.write_text(json.dumps(nojournal.as_dict()))
    ev = evaluate(load_run(run_dir), load_slo_file())
    assert ev.verdict == NO_GO
    assert ev.banner.headline == (
        f"{NO_GO}: the failing payment provider experiment failed (Chaos Toolkit wrote no journal (exit 1); see "
        "chaos/x.log)"
    )
    verdict_path.write_text('{"verdict": "fine"}')
    assert main(["report", str(run_dir)]) == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["headline"] == (
        f"COULD NOT EVALUATE: {verdict_path}: 'verdict' must be one of passed, failed, skipped, interrupted "
        "(docs/contracts.md, section 1)"
    )


def test_report_html_summary_and_junit_show_each_experiment_the_same_way(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "failed", "passed", "skipped", "interrupted")
    assert main(["report", str(run_dir)]) == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["headline"] == FAILED_HEADLINE
    rows = {r["name"]: r["verdict"] for r in summary["slos"] if r["kind"] == "experiment"}
    expected = {f"experiment: {PAYMENT}": "fail", "experiment: kill-gateway-pod": "pass",
                "experiment: cache-loss": "not applicable", "experiment: freeze-inventory-pod": "no data"}  # fmt: skip
    assert rows == expected
    said = {x["name"]: (x["verdict"], x["judged_from"]) for x in summary["experiments"]}
    assert said[PAYMENT] == ("failed", f"{PAYMENT}.verdict.json")
    assert said["cache-loss"] == ("skipped", "cache-loss.verdict.json")

    suite = ET.fromstring((run_dir / "junit.xml").read_bytes())
    cases = {c.get("name"): c for c in suite if c.get("classname") == "doorbuster.experiment"}
    assert set(cases) == set(expected)
    tags = {name.removeprefix("experiment: "): [e.tag for e in case] for name, case in cases.items()}
    assert tags == {PAYMENT: ["failure"], "kill-gateway-pod": ["system-out"], "cache-loss": ["skipped"],
                    "freeze-inventory-pod": ["error"]}  # fmt: skip
    failure = cases[f"experiment: {PAYMENT}"].find("failure")
    assert failure is not None and "broken invariants stock_conservation" in failure.get("message", "")
    skipped = cases["experiment: cache-loss"].find("skipped")
    assert skipped is not None and "applies to the services storage profile only" in skipped.get("message", "")
    assert suite.get("failures") == str(sum(1 for c in suite if c.find("failure") is not None))

    html = (run_dir / "report.html").read_text(encoding="utf-8")
    chaos = html[html.index('id="chaos"') : html.index('id="integrity"')]
    for name, verdict, css in ((PAYMENT, "failed", "v-fail"), ("kill-gateway-pod", "passed", "v-pass"),
                               ("cache-loss", "skipped (not applicable)", "v-not-applicable"),
                               ("freeze-inventory-pod", "interrupted", "v-no-data")):  # fmt: skip
        row = chaos[chaos.index(f'<span class="muted">{name}</span>') :]
        assert row.split("</tr>")[0].count(f'<td class="{css}">{verdict}</td>') == 1, (name, row[:600])
    assert "applies to the services storage profile only" in chaos


@pytest.mark.parametrize(
    ("reason", "phrase"),
    [
        ("after the fault, nothing-lost-oversold-or-charged-twice: broken invariants stock_conservation",
         "the cache loss experiment's hypothesis failed after the fault (stock_conservation broken)"),
        ("during the fault, shoppers-check-out: error rate 4.0% > 0%",
         "the cache loss experiment's hypothesis failed during the fault (error rate 4.0% > 0%)"),
        ("probe legacy-converges-after-the-heal failed: legacy did not converge within 3 s",
         "the cache loss experiment's hypothesis failed (legacy did not converge within 3 s)"),
        ("rollback heal-cache failed: the platform does not answer",
         "the cache loss experiment failed (rollback heal-cache failed: the platform does not answer)"),
        ("x" * 200, f"the cache loss experiment failed ({'x' * 119}…)"),
    ],
)  # fmt: skip
def test_a_failed_experiment_reads_in_business_terms_from_its_first_reason(reason: str, phrase: str) -> None:
    assert experiment_phrase("cache-loss", (reason, "a second reason the breach line lists")) == phrase


@pytest.mark.parametrize(
    ("verdict", "reasons", "said"),
    [
        ("passed", [], "hypothesis held"),
        ("failed", ["after the fault, audit: broken invariants stock_conservation", "rollback x failed"],
         "hypothesis FAILED: after the fault, audit: broken invariants stock_conservation"),
        ("skipped", ["applies to the services storage profile only"],
         "skipped: applies to the services storage profile only"),
        ("interrupted", ["interrupted by SIGTERM"], "interrupted, healed"),
    ],
)  # fmt: skip
def test_the_game_days_live_line_says_the_verdict_file_not_the_exit_code(
    tmp_path: Path, verdict: str, reasons: list[str], said: str
) -> None:
    path = tmp_path / "cache-loss.verdict.json"
    assert read_verdict(path) is None
    path.write_text(json.dumps(Verdict("cache-loss", "Cache lost", verdict, reasons).as_dict()))
    judged = read_verdict(path)
    assert judged is not None and outcome(judged) == said
