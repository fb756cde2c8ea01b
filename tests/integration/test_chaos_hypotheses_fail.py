"""Hypotheses that can fail: a shop that really breaks must fail its experiments.

The broken shop runs catalog with one replica (a kill is an outage) and a dual-write relay that
polls once a minute once it has caught up (legacy lags behind inventory under checkouts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.chaos_run import Load, run_chaos
from tests.support.processes import wait_until
from tests.support.shop import Shop, running_shop

pytestmark = pytest.mark.slow

LINK = "inventory->legacy"


@pytest.fixture(scope="module")
def broken_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    env = {"RF_INVENTORY_RELAY_POLL_S": "60", "RF_INVENTORY_RECONCILE_INTERVAL_S": "0"}
    with running_shop(tmp_path_factory.mktemp("broken-shop"), env, args=("--replicas", "catalog=1")) as shop:
        yield shop


def _served(shop: Shop) -> bool:
    return all(
        requests.get(f"{shop.url}/api/products?per_page=6&page={page}", timeout=2).status_code == 200
        for page in (31, 32, 33)
    )


def _link(shop: Shop) -> dict[str, Any]:
    return next(link for link in shop.client.links() if link["name"] == LINK)


def test_killing_the_only_catalog_pod_fails_the_hypothesis(broken_shop: Shop, tmp_path: Path) -> None:
    with Load(broken_shop.url, checkout=False):
        outcome = run_chaos("kill-catalog-pod", broken_shop.data_dir, tmp_path, "window_s=2")
    assert outcome.returncode == 1, outcome.stdout
    assert outcome.verdict["verdict"] == "failed"
    reason = outcome.verdict["reasons"][0]
    assert reason.startswith("probe shoppers-served-while-catalog-recovers failed: synthetic browse traffic to ")
    assert ": error rate " in reason
    assert "FAILED" in outcome.stdout


def test_legacy_that_does_not_converge_fails_the_partition_hypothesis(broken_shop: Shop, tmp_path: Path) -> None:
    # The relay sleeps a minute whenever it has caught up, so under checkouts legacy lags behind
    # inventory: the audit's legacy_convergence check must catch it. (After the kill above, the
    # gateway's circuit to the lone catalog first has to close again.)
    wait_until(lambda: _served(broken_shop), timeout=60, what="the gateway serving the catalog again")
    with Load(broken_shop.url, browse=False, shoppers=2):
        outcome = run_chaos("partition-inventory-legacy", broken_shop.data_dir, tmp_path, "converge_s=3")
    assert outcome.returncode == 1, outcome.stdout
    assert outcome.verdict["verdict"] == "failed"
    reasons = outcome.verdict["reasons"]
    assert any("legacy_convergence" in r or "legacy did not converge" in r for r in reasons), reasons
    assert _link(broken_shop)["state"] == "ok"
    assert broken_shop.client.status()["faults"] == []
