"""The tea shop of docs/examples/, as the tests drive it: a real process on loopback, reaped by PID.

It is the "shop of your own" of the README, not RetailFlow: its own routes, checkout, business
answers and audit command. The tests use the example files themselves, so the walkthrough and
the tests cannot drift apart; only the traffic profile and the SLOs are the tests' own (no think
time, so the rare tea sells out within seconds; load limits a shared machine can meet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from tests.support.processes import free_port

if TYPE_CHECKING:
    from tests.support.kube_api import EmulatedCluster

__all__ = [
    "AUDIT_CMD",
    "CLOSED_LOCUSTFILE",
    "EXAMPLES",
    "LOCUSTFILE",
    "doorbuster",
    "no_process_with",
    "profile_and_slo",
    "teashop",
]

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
LOCUSTFILE = EXAMPLES / "teashop_locustfile.py"
CLOSED_LOCUSTFILE = EXAMPLES / "closed_locustfile.py"
AUDIT_CMD = f"{sys.executable} {EXAMPLES / 'teashop_audit.py'}"

PROFILE = {
    "name": "teashop-test",
    "one_x_rps": 20,
    "mix": {"browse": 0.4, "buy": 0.6},
    "think_time_s": {"min": 0, "max": 0},
    "seed": 3,
    "pacing": {"headroom": 2, "expected_latency_ms": 150},
}

SLO = {
    "version": 1,
    "settings": {"window_s": 2},
    "load": {
        "min_achieved_ratio": 0.5,
        "max_generator_cpu_percent": 100,
        "max_schedule_lag_p95_ms": 5000,
        "max_missed_ratio": 0.2,
    },
    "slos": [
        {"name": "order-p95", "endpoint": "POST /orders", "metric": "latency_p95_ms", "max": 2000},
        {"name": "error-rate", "metric": "error_rate", "max": 0.01},
    ],
    "integrity": {"invariants": ["orders_kept", "stock_adds_up"]},
}


def profile_and_slo(folder: Path) -> dict[str, Path]:
    """The tests' traffic profile and SLO file, written into `folder`."""
    files = {"profile": folder / "teashop_profile.json", "slo": folder / "teashop_slo.json"}
    files["profile"].write_text(json.dumps(PROFILE))
    files["slo"].write_text(json.dumps(SLO))
    return files


@contextmanager
def teashop(*flags: str) -> Iterator[str]:
    """docs/examples/teashop.py on a free port (with `flags`, e.g. --sabotage); its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "teashop.py"), str(port), *flags], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert b"tea shop on" in proc.stdout.readline(), "the tea shop did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _pod(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "teashop", "labels": labels},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


@contextmanager
def teashop_cluster(folder: Path) -> Iterator[tuple[EmulatedCluster, dict[str, str]]]:
    """The emulated API server holding the tea shop's namespace (chaos allowed), two pods labelled as
    docs/examples/teashop_selectors.yaml says (`teashop-7c9-0`, `-1`) and a decoy `web-decoy` with
    RetailFlow's default labels for service `web`; the cluster and the environment that reaches it."""
    from tests.support.kube_api import emulated_cluster

    with emulated_cluster() as cluster:
        cluster.write_kubeconfig(folder / "kubeconfig")
        allowed = {"doorbuster.io/chaos": "allowed"}
        cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "teashop", "labels": allowed}})
        for i in range(2):
            cluster.add(_pod(f"teashop-7c9-{i}", {"app.kubernetes.io/name": "teashop"}))
        cluster.add(_pod("web-decoy", {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "retailflow"}))
        cluster.forget()
        yield cluster, {"KUBECONFIG": str(folder / "kubeconfig"), "PYTHONPATH": str(EXAMPLES.parents[1])}


def doorbuster(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`doorbuster ARGS` as the user runs it (with `env` added to ours); killed by subprocess.run
    if it outlives `timeout`."""
    argv = [sys.executable, "-m", "doorbuster.cli", *args]
    environ = {**os.environ, **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=environ)


def no_process_with(marker: str) -> bool:
    """No live process has `marker` in its command line."""
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return False
        except psutil.Error:
            continue
    return True
