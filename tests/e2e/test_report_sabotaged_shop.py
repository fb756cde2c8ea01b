"""A breach is a breach, end to end: the real shop, sabotaged, under a real load run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support.shop import running_shop

pytestmark = pytest.mark.slow

# Mostly checkouts, so that a short run holds enough of them to judge (min_requests 20), at a
# rate the shop takes easily when nothing is wrong; no doorbusters (a sold-out answer is quick).
# A fixed pool: the elastic pool may not grow past the 10 users the plan starts with, so slow
# checkouts starve it, as they starved every pool sized up front.
PROFILE = textwrap.dedent(
    """
    name: checkout-heavy
    one_x_rps: 12
    mix:
      browse: 30
      checkout: 70
    think_time_s:
      min: 0.1
      max: 0.3
    doorbuster_share: 0
    seed: 11
    pacing:
      headroom: 1.5
      expected_latency_ms: 80
      max_users: 10
    """
)
LOAD_S = 50
PROVIDER_LATENCY_MS = 3000  # authorize + capture: 6 s per checkout, twice the 3 s SLO


def _doorbuster(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "doorbuster.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_a_sabotaged_shop_whose_slow_checkouts_starve_a_fixed_pool_of_users_is_no_go(tmp_path: Path) -> None:
    run_dir, profile = tmp_path / "run", tmp_path / "checkout-heavy.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    # Slow, not failing: the saga's calls to payments must outlast the provider's 3.6 s worst case.
    with running_shop(tmp_path / "shop", {"RF_UPSTREAM_TIMEOUT_S": "15"}) as shop:
        sabotage = requests.put(
            shop.service_url("payments") + "/admin/provider", json={"latency_ms": PROVIDER_LATENCY_MS}, timeout=10
        )
        assert sabotage.status_code == 200, sabotage.text
        load = _doorbuster("load", "--host", shop.url, "--profile", str(profile), "--shape", "steady",
                           "--shape-args", f"multiplier=1,duration={LOAD_S}", "--run-dir", str(run_dir),
                           timeout=LOAD_S + 240)  # fmt: skip
        assert load.returncode == 0, load.stdout[-2000:] + load.stderr[-3000:]
        audit = _doorbuster("audit", "--data-dir", str(shop.data_dir), "--ledger", str(run_dir / "ledger.csv"),
                            "--out", str(run_dir / "audit.json"), timeout=300)  # fmt: skip
        assert audit.returncode == 0, audit.stdout[-2000:] + audit.stderr[-2000:]

    report = _doorbuster("report", str(run_dir), timeout=600)
    summary = json.loads((run_dir / "summary.json").read_text())
    slos = {s["name"]: s for s in summary["slos"]}
    checkout = slos["checkout-p95"]
    diagnosis = f"{report.stdout}\n{json.dumps(summary['load_checks'], indent=1)}"

    # The fixed pool of users was starved: the load was not what the plan asked for...
    checks = {x["key"]: x for x in summary["load_checks"]}
    assert checks["user_cap"]["ok"] is False, diagnosis
    assert checks["missed"]["ok"] is False or checks["lag"]["ok"] is False or checks["achieved"]["ok"] is False, (
        diagnosis
    )
    # ... and still the verdict is NO-GO, naming the SLO that broke, not INCONCLUSIVE.
    assert (report.returncode, summary["verdict"]) == (1, "NO-GO"), diagnosis
    assert checkout["verdict"] == "fail" and checkout["requests"] >= 20, checkout
    assert checkout["measured"] > 2 * PROVIDER_LATENCY_MS * 0.8, checkout
    headline = report.stdout.splitlines()[0]
    assert headline.startswith("NO-GO: ") and "checkouts too slow (p95 " in headline, diagnosis
    assert "  - checkout-p95 breached: " in report.stdout
    assert any(b.startswith("checkout-p95 breached: ") for b in summary["banner"]["breaches"])
    # Every reason is kept: the load's trouble is in the report too, after the breach.
    assert any("not trustworthy" in r or "queued" in r for r in summary["reasons"][1:]), diagnosis
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    sentence = headline.removeprefix("NO-GO: ")
    assert f'<h1>NO-GO</h1>\n  <p class="headline" id="headline">{sentence}</p>' in html
