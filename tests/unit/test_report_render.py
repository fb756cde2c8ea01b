"""Outputs: a self-contained HTML report, summary.json, junit.xml, and the CLI's exit codes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from doorbuster import runfolder as rf
from doorbuster.cli import main
from doorbuster.reports.synthetic import Burst, FaultSpec, Slowdown, SyntheticRun

STEPS = ((1.0, 60.0, "steady"), (5.0, 60.0, "steady"))
# Anything a browser would fetch: src/href/url() not pointing at inline data, <link>, @import.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:|#)|url\(\s*["']?(?!data:)|<link\b|@import|<script\b""", re.I)


def _report(tmp_path: Path, run: SyntheticRun, *extra: str) -> tuple[int, Path]:
    run_dir = run.write(tmp_path / "run")
    return main(["report", str(run_dir), *extra]), run_dir


def test_the_html_report_is_one_self_contained_file_with_the_verdict_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = SyntheticRun(stages=STEPS, faults=[FaultSpec(20, 30)], slowdowns=[Slowdown(0, 120, 300.0, "GET /search")])
    code, run_dir = _report(tmp_path, run)
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("NO-GO: searches too slow (p95 4")
    assert out.splitlines()[1].startswith("  - search-p95 breached: ")
    assert out.endswith(f"report: {run_dir}/report.html\n")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert EXTERNAL.search(html) is None, EXTERNAL.search(html)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 4  # latency, throughput, errors, headroom
    banner = html.index('id="verdict"')
    assert banner < html.index('id="slos"') < html.index('id="charts"')
    assert "search-p95 breached: " in html[banner : html.index('id="run"')]
    for section in ("budget", "headroom", "endpoints", "errors", "chaos", "integrity", "baseline"):
        assert f'id="{section}"' in html
    assert "Partition the inventory dual-write" in html
    assert sorted(p.name for p in (run_dir / "charts").iterdir()) == [
        "errors.png",
        "headroom.png",
        "latency.png",
        "throughput.png",
    ]


def test_summary_json_and_junit_carry_one_entry_per_slo(tmp_path: Path) -> None:
    code, run_dir = _report(tmp_path, SyntheticRun(stages=STEPS, bursts=[Burst(100, 110, 0.5)]))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["verdict"], summary["exit_code"], code) == ("NO-GO", 1, 1)
    failed = sorted(s["name"] for s in summary["slos"] if s["verdict"] == "fail")
    assert failed == ["availability", "error-rate", "sustained-5x"]  # the burst sits in the 5x step
    suite = ET.parse(run_dir / "junit.xml").getroot()
    slo_cases = [case for case in suite.iter("testcase") if case.get("classname") != "doorbuster.load"]
    assert [case.get("name") for case in slo_cases] == [s["name"] for s in summary["slos"]]
    failures = sorted(case.get("name") for case in slo_cases if case.find("failure") is not None)
    assert failures == failed
    assert suite.get("failures") == str(len(failed))


def test_a_baseline_run_adds_a_diff_section(tmp_path: Path) -> None:
    base = SyntheticRun(stages=STEPS).write(tmp_path / "base")
    run_dir = SyntheticRun(stages=STEPS, slowdowns=[Slowdown(0, 120, 40.0, "GET /search")]).write(tmp_path / "run")
    assert main(["report", str(run_dir), "--baseline", str(base)]) == 0
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f"Baseline run: {base}" in html
    assert "regression" in html
    summary = json.loads((run_dir / "summary.json").read_text())
    search = next(g for g in summary["baseline"]["regressions"] if g["name"] == "search-p95")
    assert search["regressed"] and search["change"] > 0.1


def test_a_missing_run_folder_exits_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"doorbuster: error: run folder {tmp_path / 'nope'} does not exist or is not a directory\n"
    )


def test_an_empty_run_folder_exits_2_naming_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"run folder {tmp_path} has no requests.parquet, requests.csv or locust_stats.csv" in err


def test_a_malformed_slo_file_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("slos:\n  - name: fast\n    metric: latency_p95_ms\n    max: soon\n", encoding="utf-8")
    code, _ = _report(tmp_path, SyntheticRun(stages=STEPS), "--slo", str(slo))
    assert code == 2
    assert capsys.readouterr().err == (
        f"doorbuster: error: SLO file {slo}: slos[0] (fast).max: expected a number, got 'soon'\n"
    )


def test_a_requests_file_missing_a_contract_column_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = SyntheticRun(stages=STEPS).write(tmp_path / "run", parquet=False)
    csv = run_dir / "requests.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "latency_ms"]
    csv.write_text("\n".join(",".join(row.split(",")[i] for i in keep) for row in lines) + "\n")
    assert main(["report", str(run_dir)]) == 2
    assert f"{csv} lacks the column(s) latency_ms (docs/contracts.md, section 1)" in capsys.readouterr().err


def test_a_bad_baseline_folder_is_named_as_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _report(tmp_path, SyntheticRun(stages=STEPS), "--baseline", str(tmp_path / "old"))
    assert code == 2
    assert f"baseline: run folder {tmp_path / 'old'} does not exist" in capsys.readouterr().err


def test_a_requests_file_without_rows_exits_2_rather_than_passing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = SyntheticRun(stages=STEPS).write(tmp_path / "run", parquet=False)
    csv = run_dir / "requests.csv"
    csv.write_text(csv.read_text().splitlines()[0] + "\n")
    assert main(["report", str(run_dir)]) == 2
    assert capsys.readouterr().err == (
        f"doorbuster: error: {csv} holds no requests and there is no locust_stats.csv: nothing to evaluate\n"
    )


def test_a_run_whose_load_script_only_raised_is_inconclusive_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a broken locustfile leaves: a plan, Locust's CSVs with no request, and its exceptions.
    run_dir = SyntheticRun(stages=STEPS).write(tmp_path / "run", parquet=False)
    (run_dir / "requests.csv").write_text(",".join(rf.REQUEST_COLUMNS) + "\n")
    header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time\n"
    (run_dir / "locust_stats.csv").write_text(header + ",Aggregated,0,0,0,0.0\n")
    (run_dir / "locust_exceptions.csv").write_text(
        "Count,Message,Traceback,Nodes\n201,invalid request URI '//',\"  File x\",local\n"
    )
    assert main(["report", str(run_dir)]) == 3
    out = capsys.readouterr().out
    assert out.startswith(
        "INCONCLUSIVE: nothing failed, but the generator sent only 0% of the planned load, "
        "the load script raised exceptions, "
    )
    assert "  - load not trustworthy: achieved / planned requests 0% (limit ≥ 90%)" in out
    assert (
        "  - warning: the load script raised 201 exception(s) (locust_exceptions.csv); most frequent: "
        "invalid request URI '//'" in out
    )
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Exceptions in the load script (Locust)" in html


@pytest.mark.parametrize(
    ("generator_cpu", "verdict", "row", "cell"),
    [
        (35.0, "NO-GO", "fail", ">fail</td>"),  # a healthy generator: the shop did not take the load
        (99.0, "INCONCLUSIVE", "inconclusive", ">inconclusive: the generator could not offer the plan</td>"),
    ],
)
def test_the_throughput_row_agrees_with_the_verdict_in_the_table_summary_and_junit(
    tmp_path: Path, generator_cpu: float, verdict: str, row: str, cell: str
) -> None:
    run = SyntheticRun(stages=STEPS, achieved_fraction=0.6, generator_cpu=generator_cpu)
    code, run_dir = _report(tmp_path, run)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["verdict"], code) == (verdict, 1 if verdict == "NO-GO" else 3)
    throughput = next(s for s in summary["slos"] if s["name"] == "throughput")
    assert (throughput["verdict"], throughput["measured"]) == (row, pytest.approx(0.6, abs=0.01))
    suite = ET.parse(run_dir / "junit.xml").getroot()
    case = next(c for c in suite.iter("testcase") if c.get("name") == "throughput")
    if row == "fail":
        assert case.find("failure") is not None and case.find("error") is None
    else:
        error = case.find("error")
        assert case.find("failure") is None and error is not None
        assert (error.get("type"), error.get("message")) == (
            "inconclusive",
            "inconclusive: the generator could not offer the plan: measured 60%, target ≥ 90% (all requests)",
        )
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    table = html[html.index("<td>throughput") :]
    table = table[: table.index("</tr>")]
    assert f'<td class="v-{row}"{cell}' in table, table
