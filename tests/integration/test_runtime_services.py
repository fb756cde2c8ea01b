"""The services profile on the runtime: a store on the network is reached only through its link,
so cutting `legacy->mariadb` takes the legacy pod's readiness down and healing brings it back."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from retailflow.runtime.client import RuntimeClient
from tests.support.processes import wait_until
from tests.support.servers import fresh_mariadb
from tests.support.shop import _reap, _started_processes, doorbuster, shop_env

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def legacy_on_mariadb(tmp_path: Path) -> Iterator[RuntimeClient]:
    with fresh_mariadb() as url:
        env = shop_env(RF_LEGACY_DB_URL=url)
        seen: list[psutil.Process] = []
        try:
            up = doorbuster("up", "--data-dir", str(tmp_path), "--port", "0", "--services", "legacy", env=env)
            seen += _started_processes(tmp_path)
            assert up.returncode == 0, f"up failed ({up.returncode}):\n{up.stderr}"
            yield RuntimeClient(tmp_path)
        finally:
            seen += _started_processes(tmp_path)
            with contextlib.suppress(subprocess.TimeoutExpired):
                doorbuster("down", "--data-dir", str(tmp_path), env=env, timeout=60)
            _reap(seen + _started_processes(tmp_path))


def test_cutting_the_store_link_makes_the_pod_unready_until_healed(legacy_on_mariadb: RuntimeClient) -> None:
    client = legacy_on_mariadb
    (link,) = client.links()
    assert (link["name"], link["src"], link["dst"], link["target"]) == (
        "legacy->mariadb",
        "legacy",
        "mariadb",
        "127.0.0.1:3306",
    )
    assert link["accepted"] >= 1, "the legacy service reached MariaDB without going through its link"
    url = next(s["url"] for s in client.status()["services"] if s["name"] == "legacy")
    assert requests.get(f"{url}/stock/SKU-000001", timeout=10).json()["sku"] == "SKU-000001"

    client.cut_link("legacy->mariadb", "reset")
    try:
        wait_until(
            lambda: not client.pods("legacy")[0]["ready"],
            timeout=30,
            what="the legacy pod to turn unready with its store cut off",
        )
        assert requests.get(f"{url}/stock/SKU-000001", timeout=10).status_code >= 500
    finally:
        client.heal_link("legacy->mariadb")
    wait_until(lambda: client.pods("legacy")[0]["ready"], timeout=30, what="the legacy pod to be ready again")
    assert requests.get(f"{url}/stock/SKU-000001", timeout=10).status_code == 200
