"""A service started as deploy/'s containers start it: `--host` binds the pod's address, and the
service port alone (no pod port) serves the probes the manifests ask for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.manifests import objects
from tests.support.processes import free_port, stop, wait_until

# A second loopback address stands for the pod IP: traffic never leaves the machine.
POD_IP = "127.0.0.2"


def container_command(service: str) -> list[str]:
    deployment = next(o for o in objects("base") if o["kind"] == "Deployment" and o["metadata"]["name"] == service)
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["command"])


def test_the_manifests_command_serves_the_probes_on_the_given_address_only(tmp_path: Path) -> None:
    command = container_command("legacy")
    assert command[:3] == ["python", "-m", "retailflow.serve"]
    port = free_port()
    args = [sys.executable, *command[1:]]
    args[args.index("--host") + 1] = POD_IP  # 0.0.0.0 in a pod; one address here
    args[args.index("--service-port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
    env.update({"RF_DATA_DIR": str(tmp_path), "RF_PRODUCTS": "200", "PYTHONPATH": str(Path(__file__).parents[2])})
    subprocess.run([*args[:4], "--seed-only"], env=env, check=True, timeout=120, capture_output=True)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = wait_until(
            lambda: requests.get(f"http://{POD_IP}:{port}/readyz", timeout=2).status_code == 200,
            timeout=60,
            what="legacy's /readyz on the pod address",
        )
        assert ready
        assert requests.get(f"http://{POD_IP}:{port}/healthz", timeout=2).json()["service"] == "legacy"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        stop(proc)
