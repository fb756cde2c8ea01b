"""Chaos on your cluster: the tea shop's own experiment (docs/examples/teashop_kill_web.yaml) run by
`doorbuster chaos run --platform kubernetes --namespace --selectors` against the emulated API
server, its probes browsing the real tea shop. The selector mapping, not RetailFlow's labels,
picks the pod: a decoy carrying RetailFlow's labels for the same service is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.teashop import EXAMPLES, doorbuster, teashop, teashop_cluster

pytestmark = pytest.mark.slow

PODS = "/api/v1/namespaces/teashop/pods"


def test_the_selector_mapping_reaches_the_experiment_and_picks_your_pods_not_retailflows_labels(
    tmp_path: Path,
) -> None:
    with teashop_cluster(tmp_path) as (cluster, env), teashop() as url:
        done = doorbuster(
            "chaos", "run", str(EXAMPLES / "teashop_kill_web.yaml"), "--platform", "kubernetes", "--namespace",
            "teashop", "--selectors", str(EXAMPLES / "teashop_selectors.yaml"), "--var", f"storefront_url={url}",
            "--run-dir", str(tmp_path / "run"), env=env, timeout=240,
        )  # fmt: skip
        killed = [path for method, path in cluster.calls("DELETE") if path.startswith(f"{PODS}/")]
        selectors = {r.params.get("labelSelector") for r in cluster.requests() if r.url.path == PODS}
    assert done.returncode == 0 and "PASSED" in done.stdout, done.stdout + done.stderr
    assert len(killed) == 1 and killed[0].startswith(f"{PODS}/teashop-7c9-"), done.stdout + done.stderr
    assert selectors == {"app.kubernetes.io/name=teashop"}, "RetailFlow's default labels were never asked for"
    journal = json.loads((tmp_path / "run" / "chaos" / "teashop_kill_web.journal.json").read_text())
    browse = journal["steady_states"]["before"]["probes"][1]["output"]
    assert browse["requests"] > 0 and browse["errors"] == 0, "the hypothesis browsed the real tea shop"
