"""deploy/load runs Locust with options our Locust build accepts, against the shop, with one worker count."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.manifests import objects

REPO = Path(__file__).resolve().parents[2]
# Parsed in a child: importing locust monkey-patches the standard library of the importing process.
PARSE = """
import json, sys
import locust
from locust.argument_parser import parse_options
import locustfile
out = []
for args in json.loads(sys.argv[1]):
    try:
        opts = parse_options(args=args)
        out.append({k: v for k, v in vars(opts).items() if isinstance(v, (str, int, float, bool, type(None)))})
    except SystemExit as exc:
        out.append({"error": exc.code})
print(json.dumps(out))
"""


def load_objects() -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects("load") if o["kind"] in ("Job", "Deployment", "ConfigMap")}


def expanded_args(container: dict[str, Any], config: dict[str, str]) -> list[str]:
    """The container's args with $(VAR) expanded as the kubelet does, from env and the ConfigMap."""
    env = {**config, **{e["name"]: e["value"] for e in container.get("env") or [] if "value" in e}}
    return [re.sub(r"\$\(([A-Z_]+)\)", lambda m: env[m[1]], arg) for arg in container["args"]]


def parse(*arg_lists: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, json.dumps(arg_lists)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    objs = load_objects()
    config = objs["ConfigMap"]["data"]
    master = objs["Job"]["spec"]["template"]["spec"]["containers"][0]
    worker = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    master_opts, worker_opts = parse(
        ["-f", "locustfile.py", *expanded_args(master, config)[2:]],
        ["-f", "locustfile.py", *expanded_args(worker, config)[2:]],
    )
    return {"master": master_opts, "worker": worker_opts}


def test_the_master_runs_a_bounded_headless_recorded_run_against_the_shop(parsed: dict[str, dict[str, Any]]) -> None:
    master = parsed["master"]
    assert "error" not in master, master
    assert master["master"] and master["headless"]
    assert master["host"] == "http://gateway.retailflow.svc.cluster.local:8080"
    assert master["allow_host"] == "gateway.retailflow.svc.cluster.local"  # load leaves loopback only by name
    assert master["run_time"] == 30 * 60
    assert master["run_dir"] == "/runs/gameday" and master["csv_prefix"] == "/runs/gameday/locust"
    assert master["stats_history_enabled"]  # --csv-full-history
    assert master["shape"] == "ramp" and master["traffic_profile"] == "default"


def test_the_master_waits_for_exactly_the_workers_the_deployment_runs(parsed: dict[str, dict[str, Any]]) -> None:
    workers = load_objects()["Deployment"]["spec"]["replicas"]
    assert workers == 4
    assert parsed["master"]["expect_workers"] == workers


def test_the_workers_find_the_master_through_its_service(parsed: dict[str, dict[str, Any]]) -> None:
    worker = parsed["worker"]
    assert "error" not in worker, worker
    assert worker["worker"] and worker["master_host"] == "locust-master"
    service = next(o for o in objects("load") if o["kind"] == "Service")
    assert {p["port"] for p in service["spec"]["ports"]} >= {worker["master_port"]}


def test_the_master_writes_the_run_folder_to_the_volume() -> None:
    job = load_objects()["Job"]["spec"]["template"]["spec"]
    mount = next(m for m in job["containers"][0]["volumeMounts"] if m["name"] == "runs")
    claim = next(v for v in job["volumes"] if v["name"] == "runs")["persistentVolumeClaim"]["claimName"]
    assert mount["mountPath"] == "/runs"
    assert claim in {o["metadata"]["name"] for o in objects("load") if o["kind"] == "PersistentVolumeClaim"}
    assert job["restartPolicy"] == "Never"


def test_a_misspelt_option_would_be_caught() -> None:
    (result,) = parse(["-f", "locustfile.py", "--master", "--traffic-profiles", "default"])
    assert result == {"error": 2}  # argparse's usage error, not a run with the option ignored
