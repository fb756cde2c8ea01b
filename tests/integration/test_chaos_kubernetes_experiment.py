"""An experiment run end to end by `doorbuster chaos run` with `platform=kubernetes`: Chaos Toolkit
in its own process, the extension's activities, the Kubernetes platform and chaostoolkit-kubernetes,
against the emulated API server. The verdict comes from the journal; the calls from the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.kube_api import EmulatedCluster, emulated_cluster, seed

REPO = Path(__file__).resolve().parents[2]
NS = "/api/v1/namespaces/retailflow"
POLICY = "/apis/networking.k8s.io/v1/namespaces/retailflow/networkpolicies"

# The shape of the shipped experiments (configuration, hypothesis, method, rollbacks), with only
# the probes that need no shop: the emulated cluster runs no pods that answer HTTP.
EXPERIMENT = {
    "version": "1.0.0",
    "title": "A catalog pod and the dual-write link, broken on a cluster",
    "description": "The Kubernetes platform under Chaos Toolkit.",
    "configuration": {"platform": "local", "namespace": "retailflow", "recover_s": 5},
    "runtime": {"rollbacks": {"strategy": "always"}},
    "steady-state-hypothesis": {
        "title": "Every pod is ready",
        "probes": [
            {
                "type": "probe",
                "name": "every-pod-ready",
                "provider": {
                    "type": "python",
                    "module": "chaos.pod.probes",
                    "func": "pods_ready",
                    "arguments": {"timeout_s": "${recover_s}"},
                },
                "tolerance": {"type": "range", "target": "violations", "range": [0, 0]},
            }
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "kill-a-catalog-pod",
            "provider": {
                "type": "python",
                "module": "chaos.pod.actions",
                "func": "terminate_pods",
                "arguments": {"service": "catalog", "qty": 1},
            },
        },
        {
            "type": "action",
            "name": "partition-inventory-legacy",
            "provider": {
                "type": "python",
                "module": "chaos.link.actions",
                "func": "partition_link",
                "arguments": {"link": "inventory->legacy", "duration_s": 0.5},
            },
        },
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "heal-inventory-legacy",
            "provider": {
                "type": "python",
                "module": "chaos.link.actions",
                "func": "heal_links",
                "arguments": {"links": ["inventory->legacy"]},
            },
        }
    ],
}


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    with emulated_cluster() as emulated:
        emulated.write_kubeconfig(tmp_path / "kubeconfig")
        seed(emulated)
        emulated.forget()
        yield emulated


def run_chaos(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    experiment = tmp_path / "broken-on-a-cluster.yaml"
    experiment.write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig"), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", "chaos", "run", str(experiment), "--run-dir", str(tmp_path / "run"),
         "--var", "platform=kubernetes", *extra],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240,
    )  # fmt: skip


def test_the_experiment_kills_a_pod_cuts_and_heals_the_link_and_passes(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    done = run_chaos(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads((tmp_path / "run" / "chaos" / "broken-on-a-cluster.verdict.json").read_text())
    assert verdict["verdict"] == "passed", verdict
    mutations = cluster.calls("DELETE", "POST")
    killed = [path for method, path in mutations if method == "DELETE" and path.startswith(f"{NS}/pods/")]
    assert len(killed) == 1 and killed[0].startswith(f"{NS}/pods/catalog-")
    assert ("DELETE", f"{POLICY}/inventory-to-legacy") in mutations
    assert mutations.index(("DELETE", f"{POLICY}/inventory-to-legacy")) < mutations.index(("POST", POLICY))
    assert cluster.get("NetworkPolicy", "inventory-to-legacy") is not None
    journal = json.loads((tmp_path / "run" / "chaos" / "broken-on-a-cluster.journal.json").read_text())
    assert [r["activity"]["name"] for r in journal["run"]] == ["kill-a-catalog-pod", "partition-inventory-legacy"]


def test_an_unlabelled_namespace_fails_the_experiment_and_touches_nothing(tmp_path: Path) -> None:
    with emulated_cluster() as emulated:
        emulated.write_kubeconfig(tmp_path / "kubeconfig")
        seed(emulated, allowed=False)
        emulated.forget()
        done = run_chaos(tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        verdict = json.loads((tmp_path / "run" / "chaos" / "broken-on-a-cluster.verdict.json").read_text())
        assert verdict["verdict"] == "failed"
        assert "not labelled doorbuster.io/chaos=allowed" in json.dumps(verdict) + done.stdout
        assert emulated.calls("DELETE", "POST", "PATCH") == []
