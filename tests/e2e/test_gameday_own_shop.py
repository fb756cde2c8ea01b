"""`doorbuster gameday` for a shop that is not RetailFlow: the tea shop of docs/examples/, with its
own journeys, SLOs and audit command. Its verdict comes from its own audit (GO, NO-GO when it
is sabotaged); a part the user did not ask for reads "not measured" with the reason in
report.html, summary.json and junit.xml, never a pass; a part asked for that cannot run is
refused before anything starts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.census import naming
from tests.support.teashop import (
    AUDIT_CMD,
    EXAMPLES,
    LOCUSTFILE,
    doorbuster,
    profile_and_slo,
    teashop,
    teashop_cluster,
)

pytestmark = pytest.mark.slow

NO_PLATFORM = "no chaos platform (--platform) for a shop that is not the embedded one"
SHORT = ("--run-time", "6s", "--no-chaos")  # a few seconds of the load alone


def gameday(
    host: str,
    files: dict[str, Path],
    run_dir: Path,
    *extra: str,
    name: str = "smoke",
    env: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, object]]:
    """A game day (the quick one unless `name` says) on the tea shop; exit code, output, summary."""
    result = doorbuster(
        "gameday", name, "--host", host, "--locustfile", str(LOCUSTFILE), "--profile", str(files["profile"]),
        "--slo", str(files["slo"]), "--run-dir", str(run_dir), *extra, env=env, timeout=300,
    )  # fmt: skip
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    return result.returncode, result.stdout + result.stderr, summary


def integrity(summary: dict[str, object]) -> dict[str, dict[str, object]]:
    return {r["name"]: r for r in summary["slos"] if r["kind"] == "integrity"}  # type: ignore[attr-defined]


def junit_cases(run_dir: Path) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in ET.parse(run_dir / "junit.xml").getroot().iter("testcase")}


@pytest.mark.parametrize(("flags", "verdict"), [((), "GO"), (("--sabotage",), "NO-GO")])
def test_the_tea_shops_game_day_is_judged_by_its_own_audit(
    tmp_path: Path, flags: tuple[str, ...], verdict: str
) -> None:
    run_dir = tmp_path / "run"
    with teashop(*flags) as url:
        rc, output, summary = gameday(url, profile_and_slo(tmp_path), run_dir, "--audit-cmd", AUDIT_CMD, *SHORT)
    assert summary.get("verdict") == verdict, output[-3000:]
    assert rc == (0 if verdict == "GO" else 1), output[-3000:]
    assert "audit: integrity" in output, "the audit ran as `doorbuster integrity RUN --host --audit-cmd`"
    checks = integrity(summary)
    assert set(checks) == {"integrity: orders_kept", "integrity: stock_adds_up"}
    kept = checks["integrity: orders_kept"]
    audit = json.loads((run_dir / "audit.json").read_text())
    lost = next(i["violations"] for i in audit["invariants"] if i["name"] == "orders_kept")
    assert kept["measured"] == lost and kept["verdict"] == ("pass" if verdict == "GO" else "fail")
    if verdict == "NO-GO":
        assert lost > 0 and "integrity: orders_kept breached" in output
    # The chaos schedule was not run (--no-chaos, no platform): said so everywhere, not passed.
    assert any(NO_PLATFORM in line for line in summary["not_measured"])  # type: ignore[attr-defined]
    chaos = junit_cases(run_dir)["chaos experiments"]
    assert NO_PLATFORM in chaos.find("skipped").get("message", "")  # type: ignore[union-attr]
    assert NO_PLATFORM in (run_dir / "report.html").read_text().replace("&#39;", "'")
    assert any(NO_PLATFORM in reason for reason in summary["reasons"]), "the banner says it too"  # type: ignore[attr-defined]


def test_without_an_audit_command_integrity_is_not_measured_and_never_a_pass(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with teashop() as url:
        rc, output, summary = gameday(url, profile_and_slo(tmp_path), run_dir, *SHORT)
    assert summary.get("verdict") == "INCONCLUSIVE" and rc == 3, output[-3000:]
    assert not (run_dir / "audit.json").exists()
    for result in integrity(summary).values():
        assert result["verdict"] == "no data" and result["note"] == "no --audit-cmd given"
    assert "integrity audit (audit.json): no --audit-cmd given" in summary["not_measured"]  # type: ignore[operator]
    assert "integrity not measured: no --audit-cmd given" in output
    cases = junit_cases(run_dir)
    error = cases["integrity: orders_kept"].find("error")
    assert error is not None and error.get("message") == "not measured: no --audit-cmd given"
    assert "no --audit-cmd given" in (run_dir / "report.html").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "needs a chaos platform, and --host"),
        (("--platform", "kubernetes"), "--platform kubernetes needs --namespace NS"),
        (("--namespace", "tea"), "--namespace is a Kubernetes setting: add --platform kubernetes"),
        (("--platform", "local", "--no-chaos"), "--platform local is the embedded RetailFlow shop's"),
        (("--platform", "kubernetes", "--namespace", "tea", "--selectors", "SELECTORS"),
         "no selector for service 'gateway', which experiment kill-gateway-pod acts on"),
    ],
)  # fmt: skip
def test_a_part_asked_for_that_cannot_run_is_refused_before_anything_starts(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    selectors = tmp_path / "selectors.yaml"
    selectors.write_text("web: app=tea-web\ninventory: app=tea-stock\n")
    extra = tuple(str(selectors) if arg == "SELECTORS" else arg for arg in extra)
    run_dir = tmp_path / "run"
    with teashop() as url:
        rc, output, _ = gameday(url, profile_and_slo(tmp_path), run_dir, "--audit-cmd", AUDIT_CMD, *extra)
    assert rc == 2, output
    assert message in output and "Traceback" not in output
    if not extra:
        assert "--no-chaos" in output, "the refusal says how to run the load alone"
    assert not run_dir.exists(), "refused before the run folder, the load or the ledger"
    assert naming(tmp_path) == [], "refused before any process started"


def test_the_tea_shops_own_game_day_kills_its_pod_on_its_cluster_by_its_selectors(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cluster_options = ("--platform", "kubernetes", "--namespace", "teashop", "--selectors",
                       str(EXAMPLES / "teashop_selectors.yaml"), "--shape-args", "steps=1/2,hold=5,ramp=0")  # fmt: skip
    with teashop_cluster(tmp_path) as (cluster, env), teashop() as url:
        rc, output, summary = gameday(
            url, profile_and_slo(tmp_path), run_dir, "--audit-cmd", AUDIT_CMD, *cluster_options,
            name=str(EXAMPLES / "teashop_gameday.yaml"), env=env,
        )  # fmt: skip
        killed = [path for method, path in cluster.calls("DELETE") if "/pods/" in path]
    assert summary.get("verdict") == "GO" and rc == 0, output[-3000:]
    assert len(killed) == 1 and "/namespaces/teashop/pods/teashop-7c9-" in killed[0], output[-3000:]
    experiments = {x["journal"]: x for x in summary["experiments"]}  # type: ignore[attr-defined]
    assert list(experiments) == ["teashop_kill_web.journal.json"], experiments
    assert experiments["teashop_kill_web.journal.json"]["status"] == "completed"
    assert not any("chaos" in line for line in summary["not_measured"]), "the chaos schedule ran: nothing to excuse"


def test_a_cluster_platform_for_the_embedded_shop_is_refused_before_it_starts(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = doorbuster("gameday", "smoke", "--platform", "kubernetes", "--namespace", "tea", "--run-dir", str(run_dir))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--platform kubernetes acts on a shop already up on your cluster: name it with --host" in result.stderr
    assert not run_dir.exists() and naming(tmp_path) == []
