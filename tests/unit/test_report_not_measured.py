"""not_measured.json: a part the game day did not run reads "not measured" with its reason in
report.html, summary.json and junit.xml alike, and is never a pass."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from doorbuster import runfolder as rf
from doorbuster.cli import main
from doorbuster.reports.synthetic import SyntheticRun

NO_AUDIT = "no --audit-cmd given"
NO_CHAOS = "the game day's chaos schedule (kill-web) was not run: no chaos platform (--platform)"


def _unaudited_run(tmp_path: Path, reasons: object) -> Path:
    run_dir = SyntheticRun().write(tmp_path / "run")
    (run_dir / rf.AUDIT).unlink()
    for journal in (run_dir / rf.CHAOS_DIR).glob("*"):
        journal.unlink()
    (run_dir / rf.NOT_MEASURED).write_text(json.dumps(reasons))
    return run_dir


def test_the_reasons_reach_the_banner_summary_junit_and_html_and_integrity_is_not_a_pass(tmp_path: Path) -> None:
    run_dir = _unaudited_run(tmp_path, {"integrity": NO_AUDIT, "fault": NO_CHAOS})
    assert main(["report", str(run_dir)]) == 3  # INCONCLUSIVE: never GO without the audit
    summary = json.loads((run_dir / rf.SUMMARY).read_text())
    integrity = [s for s in summary["slos"] if s["kind"] == "integrity"]
    assert integrity and all(s["verdict"] == "no data" and s["note"] == NO_AUDIT for s in integrity)
    assert f"chaos experiments (chaos/*.journal.json): {NO_CHAOS}" in summary["not_measured"]
    assert f"integrity audit (audit.json): {NO_AUDIT}" in summary["not_measured"]
    assert any(NO_AUDIT in r for r in summary["reasons"]) and any(NO_CHAOS in r for r in summary["reasons"])
    cases = {c.get("name"): c for c in ET.parse(run_dir / rf.JUNIT).getroot().iter("testcase")}
    assert cases["chaos experiments"].find("skipped").get("message") == f"not measured: {NO_CHAOS}"  # type: ignore[union-attr]
    errors = [c.find("error") for name, c in cases.items() if str(name).startswith("integrity: ")]
    assert errors and all(e is not None and e.get("message") == f"not measured: {NO_AUDIT}" for e in errors)
    html = (run_dir / rf.REPORT_HTML).read_text().replace("&#39;", "'")
    assert f"not measured: {NO_CHAOS}" in html and NO_AUDIT in html


def test_without_the_file_the_report_says_only_what_is_missing(tmp_path: Path) -> None:
    run_dir = _unaudited_run(tmp_path, {})
    (run_dir / rf.NOT_MEASURED).unlink()
    assert main(["report", str(run_dir)]) == 3
    summary = json.loads((run_dir / rf.SUMMARY).read_text())
    assert "integrity audit (audit.json)" in summary["not_measured"]
    assert all(s["note"] == "no audit.json" for s in summary["slos"] if s["kind"] == "integrity")
    assert "chaos experiments" not in {c.get("name") for c in ET.parse(run_dir / rf.JUNIT).getroot().iter("testcase")}


def test_a_malformed_file_is_exit_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _unaudited_run(tmp_path, {"integrity": 3})
    assert main(["report", str(run_dir)]) == 2
    assert f"{run_dir / rf.NOT_MEASURED}: expected an object of part: reason (strings)" in capsys.readouterr().err
