"""A shop that is not RetailFlow, driven end to end with the suite: the tea shop of docs/examples/.

Its routes, its checkout (orders with an Order-Key), its business answers (sold out, card
declined) and its audit command all differ from RetailFlow's. It runs as a real process on
loopback, reaped by PID (tests/support/teashop.py); `--sabotage` makes it confirm some orders to
the client without keeping them, which only its own audit can see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.census import naming
from tests.support.teashop import (
    AUDIT_CMD,
    CLOSED_LOCUSTFILE,
    EXAMPLES,
    LOCUSTFILE,
    doorbuster,
    no_process_with,
    profile_and_slo,
    teashop,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def tea_shop(request: pytest.FixtureRequest) -> Iterator[str]:
    with teashop(*getattr(request, "param", [])) as url:
        yield url


@pytest.fixture
def shop_files(tmp_path: Path) -> dict[str, Path]:
    return profile_and_slo(tmp_path)


def load_and_report(
    host: str, files: dict[str, Path], run_dir: Path, *, verdict: int, audit: str
) -> subprocess.CompletedProcess[str]:
    """Our ramp with the tea shop's journeys and its audit command, then the report, which must
    exit `verdict` after the load printed `audit`; the report's result."""
    result = doorbuster(
        "load", "--host", host, "--locustfile", str(LOCUSTFILE), "--profile", str(files["profile"]),
        "--shape", "ramp", "--shape-args", "steps=1/2,hold=3s,ramp=0", "--run-dir", str(run_dir),
        "--audit-cmd", AUDIT_CMD,
    )  # fmt: skip
    assert result.returncode == 0 and audit in result.stdout, result.stdout + result.stderr[-2000:]
    report = doorbuster("report", str(run_dir), "--slo", str(files["slo"]))
    assert report.returncode == verdict, report.stdout + report.stderr
    return report


def slo_result(summary: dict[str, object], name: str) -> dict[str, object]:
    return next(r for r in summary["slos"] if r["name"] == name)  # type: ignore[attr-defined]


def test_the_tea_shop_gets_our_shapes_run_folder_report_and_its_own_audit_in_the_gate(
    tea_shop: str, shop_files: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    load_and_report(tea_shop, shop_files, run_dir, verdict=0, audit="audit OK")
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["model"] == "open" and meta["shape"]["name"] == "ramp" and meta["status"] == "completed"
    planned = pd.read_csv(run_dir / "planned_rate.csv")
    assert sorted(planned["stage"].unique()) == ["1x", "2x"], "our ramp shaped the tea shop's load"
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert set(requests["journey"]) == {"browse", "buy"}
    assert requests["intended_ts"].notna().all(), "every request of a paced journey keeps its intended start"
    assert not requests["name"].str.contains("/p/|/api/|/search").any(), "RetailFlow's journeys stayed home"
    orders = requests[requests["name"] == "POST /orders"]
    sold_out = orders[orders["status"] == 409]
    assert len(sold_out) > 0 and sold_out["ok"].all(), "sold out is a correct answer, not an error"
    ledger = pd.read_csv(run_dir / "ledger.csv")
    assert set(ledger["order_id"]) == set(orders.loc[orders["status"] == 201, "order_id"])

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "GO"
    # The report's figures equal an independent computation from requests.parquet.
    corrected = orders["latency_ms"] + (orders["ts"] - orders["intended_ts"]).clip(lower=0) * 1000
    assert slo_result(summary, "order-p95")["measured"] == pytest.approx(np.quantile(corrected, 0.95), rel=1e-9)
    assert slo_result(summary, "error-rate")["measured"] == pytest.approx((~requests["ok"]).mean(), abs=1e-12)
    kept = slo_result(summary, "integrity: orders_kept")
    assert kept["verdict"] == "pass" and kept["measured"] == 0


@pytest.mark.parametrize("tea_shop", [["--sabotage"]], indirect=True)
def test_a_sabotaged_tea_shop_that_loses_confirmed_orders_is_a_no_go(
    tea_shop: str, shop_files: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    report = load_and_report(tea_shop, shop_files, run_dir, verdict=1, audit="audit FAILED (orders_kept)")
    assert "integrity: orders_kept breached" in report.stdout
    audit = json.loads((run_dir / "audit.json").read_text())
    lost = next(i for i in audit["invariants"] if i["name"] == "orders_kept")
    ledger = pd.read_csv(run_dir / "ledger.csv")
    assert lost["violations"] == len(ledger) // 3, "every third confirmed order was never kept"


def test_a_plain_closed_model_locustfile_gets_a_complete_run_folder_and_an_uncorrected_latency_report(
    tea_shop: str, shop_files: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = doorbuster(
        "load", "--host", tea_shop, "--locustfile", str(CLOSED_LOCUSTFILE), "--profile",
        str(shop_files["profile"]), "--shape", "steady", "--shape-args", "multiplier=1,duration=4s",
        "--run-dir", str(run_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("meta.json", "requests.parquet", "iterations.csv", "planned_rate.csv", "generator.csv",
                 "ledger.csv", "locust_stats.csv", "locust_stats_history.csv"):  # fmt: skip
        assert (run_dir / name).exists(), name
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["model"] == "closed" and meta["status"] == "completed"
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert len(requests) > 0 and requests["intended_ts"].isna().all()
    assert set(requests["journey"]) == {"Shopper"}, "a plain user's requests carry its class name"
    report = doorbuster("report", str(run_dir), "--slo", str(shop_files["slo"]))
    assert report.returncode in (1, 3), report.stdout + report.stderr  # no audit: never a GO
    summary = json.loads((run_dir / "summary.json").read_text())
    notes = " ".join(summary["not_measured"])
    assert "corrected for coordinated omission: a closed-model run" in notes
    assert "integrity audit (audit.json)" in notes
    assert "integrity not measured" in report.stdout
    assert "closed-model run" in (run_dir / "report.html").read_text()


def test_a_locustfile_without_a_user_class_is_refused_before_any_load(tea_shop: str, tmp_path: Path) -> None:
    marker = f"nouser_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{marker}.py"
    path.write_text("from locust import task\n\nGREETING = 'no users here'\n")
    result = doorbuster("load", "--host", tea_shop, "--locustfile", str(path), "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2
    assert f"--locustfile {path}: defines no User class" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r" / "meta.json").exists()
    assert no_process_with(marker)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "PY -c 'import time; time.sleep(300)' MARKER & echo 'the books are locked' >&2; exit 3",
            "exited 3: the books are locked",
        ),
        ('echo \'{"ok": true, "invariants": []}\' > $DOORBUSTER_AUDIT_JSON', "checked_at: Field required"),
        (
            'echo \'{"ok": true, "checked_at": "2026-01-01T00:00:00+00:00", "invariants": '
            '[{"name": "kept", "ok": true, "violations": "none"}]}\' > $DOORBUSTER_AUDIT_JSON',
            "invariants.0.violations: Input should be a valid integer",
        ),
        ("echo 'not json' > $DOORBUSTER_AUDIT_JSON", "is not JSON"),
        ("true", "wrote no audit.json to $DOORBUSTER_AUDIT_JSON"),
    ],
)
def test_an_audit_command_that_fails_or_writes_a_malformed_audit_json_exits_2(
    tmp_path: Path, command: str, message: str
) -> None:
    marker = f"audit_{uuid.uuid4().hex[:8]}"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    command = command.replace("PY", sys.executable).replace("MARKER", marker)
    result = doorbuster("integrity", str(run_dir), "--audit-cmd", f": {marker}; {command}", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "audit.json").exists(), "a malformed audit never reaches the run folder"
    assert no_process_with(marker), "the audit command left a process behind"


@pytest.mark.parametrize("how", ["comma-separated -f", "one extra import"])
def test_plain_locust_gives_a_locustfile_of_your_own_our_shape_and_run_folder(
    tea_shop: str, shop_files: dict[str, Path], tmp_path: Path, how: str
) -> None:
    from doorbuster.load.cli import SUITE_LOCUSTFILE

    if how == "one extra import":
        mine = tmp_path / "mine.py"
        mine.write_text("import doorbuster.suite  # noqa: F401\n" + CLOSED_LOCUSTFILE.read_text())
        files = str(mine)
    else:
        files = f"{SUITE_LOCUSTFILE},{CLOSED_LOCUSTFILE}"
    run_dir = tmp_path / "run"
    args = [
        sys.executable, "-m", "locust", "-f", files, "--headless", "--host", tea_shop,
        "--traffic-profile", str(shop_files["profile"]), "--shape", "steady", "--shape-args", "duration=3s",
        "--run-dir", str(run_dir), "--csv", str(run_dir / "locust"), "--loglevel", "WARNING",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["model"] == "closed" and meta["shape"]["name"] == "steady" and meta["status"] == "completed"
    assert len(pd.read_csv(run_dir / "planned_rate.csv")) > 0
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert "/teas" in set(requests["name"]) <= {"/teas", "/teas/[code]"}, "only the locustfile's own users ran"


def test_the_tea_shop_walkthrough_of_the_readme_runs_as_written(tea_shop: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = doorbuster(
        "load", "--host", tea_shop, "--locustfile", str(LOCUSTFILE), "--profile",
        str(EXAMPLES / "teashop_profile.yaml"), "--shape", "ramp", "--shape-args", "steps=1/2,hold=3s,ramp=0",
        "--run-dir", str(run_dir), "--audit-cmd", AUDIT_CMD,
    )  # fmt: skip
    assert result.returncode == 0 and "audit OK" in result.stdout, result.stdout + result.stderr[-2000:]
    report = doorbuster("report", str(run_dir), "--slo", str(EXAMPLES / "teashop_slo.yaml"))
    summary = json.loads((run_dir / "summary.json").read_text())
    verdicts = {r["name"]: r["verdict"] for r in summary["slos"]}
    assert verdicts["integrity: orders_kept"] == verdicts["integrity: stock_adds_up"] == "pass"
    assert verdicts["error-rate"] == "pass", "sold out and declined cards are answers, not errors"
    assert verdicts["order-p95"] == "pass"
    # The shop's answer is GO. The report may only withhold it on the generator's own word: with
    # the example's SLO file its load checks use the defaults (generator CPU p95 <= 90%, no second
    # at the user cap, no load-script exceptions), and a run this short (6 s, ~90 iterations)
    # samples CPU ~7 times, so two busy seconds on a shared 2-core CI machine are its p95. Then
    # late or missed starts are blamed on the generator too (the one iteration the run's end cuts
    # off is already 1.1%), and the verdict is INCONCLUSIVE, which the test cannot prevent. Any
    # other INCONCLUSIVE (an SLO without data, too few requests, an unaudited invariant) fails.
    if report.returncode == 3:
        untrusted = [x["name"] for x in summary["load_checks"] if x["ok"] is False and x["blame"] == "generator"]
        assert untrusted, summary["reasons"]
        assert all(line.startswith("load not trustworthy: ") for line in summary["banner"]["unproven"]), summary
    else:
        assert report.returncode == 0, report.stdout


def test_a_selector_mapping_missing_a_service_exits_2_naming_it_before_any_cluster_call(tmp_path: Path) -> None:
    selectors = tmp_path / "selectors.yaml"
    selectors.write_text("inventory: app=tea-stock\n")  # the experiment also cuts the link to `legacy`
    run_dir = tmp_path / "run"
    result = doorbuster(
        "chaos", "run", "partition-inventory-legacy", "--platform", "kubernetes", "--namespace", "teashop",
        "--selectors", str(selectors), "--run-dir", str(run_dir), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no selector for service 'legacy', which experiment partition-inventory-legacy acts on" in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists(), "refused before Chaos Toolkit or the cluster was asked anything"
    assert naming(tmp_path) == [], "no process left behind"
