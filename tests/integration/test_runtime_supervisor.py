"""The supervisor with real replica processes: restarts, service continuity, links, control API.

One small shop (inventory + two legacy replicas, a 2,000-product catalog) serves the module;
it is always torn down with `doorbuster down` and a SIGKILL, by PID, of anything left.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from retailflow.runtime.client import RuntimeClient
from retailflow.runtime.errors import ControlError
from retailflow.runtime.state import is_alive
from tests.support.processes import wait_until
from tests.support.shop import _reap, _started_processes, doorbuster

pytestmark = pytest.mark.slow

UP_TIMEOUT_S = 180.0
LINK = "inventory->legacy"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeClient]:
    data_dir: Path = tmp_path_factory.mktemp("runtime")
    seen: list[psutil.Process] = []
    try:
        up = doorbuster(
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--ttl",
            "15m",
            "--services",
            "inventory,legacy",
            "--replicas",
            "legacy=2,inventory=1",
        )
        seen += _started_processes(data_dir)
        assert up.returncode == 0, f"up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}"
        client = RuntimeClient(data_dir)
        client.wait_ready(UP_TIMEOUT_S)
        yield client
    finally:
        seen += _started_processes(data_dir)
        with contextlib.suppress(subprocess.TimeoutExpired):
            doorbuster("down", "--data-dir", str(data_dir), timeout=60)
        _reap(seen + _started_processes(data_dir))


def service_url(client: RuntimeClient, name: str) -> str:
    return next(s["url"] for s in client.status()["services"] if s["name"] == name)


def link_url(client: RuntimeClient) -> str:
    return "http://" + next(link["listen"] for link in client.links() if link["name"] == LINK)


def answers(url: str, timeout: float = 2.0) -> bool:
    # A fresh connection each time, so the kernel picks among the live replicas anew.
    try:
        return requests.get(url, timeout=timeout, headers={"Connection": "close"}).status_code == 200
    except requests.RequestException:
        return False


def test_status_lists_services_pods_and_links_as_the_contract_says(shop: RuntimeClient) -> None:
    status = shop.status()
    assert status["storefront_url"] is None  # no gateway in this shop
    assert status["profile"] == "embedded"
    assert [(s["name"], s["replicas"], s["ready"]) for s in status["services"]] == [
        ("inventory", 1, 1),
        ("legacy", 2, 2),
    ]
    pods = {(p["service"], p["replica"]): p for p in status["pods"]}
    assert set(pods) == {("inventory", 0), ("legacy", 0), ("legacy", 1)}
    for pod in pods.values():
        assert pod["ready"] and pod["state"] == "running"
        assert psutil.pid_exists(pod["pid"])
        assert answers(f"http://127.0.0.1:{pod['port']}/readyz")  # the pod port reaches that very replica
    (link,) = status["links"]
    legacy_port = next(s["url"] for s in status["services"] if s["name"] == "legacy").rsplit(":", 1)[1]
    assert (link["name"], link["src"], link["dst"], link["state"], link["latency_ms"]) == (
        LINK,
        "inventory",
        "legacy",
        "ok",
        0,
    )
    assert link["target"] == f"127.0.0.1:{legacy_port}"
    assert shop.pods("legacy") == [p for p in status["pods"] if p["service"] == "legacy"]


def test_a_killed_replica_is_restarted_while_the_service_keeps_answering(shop: RuntimeClient) -> None:
    url = service_url(shop, "legacy") + "/healthz"
    victim = shop.pods("legacy")[0]
    killed = shop.kill_pod("legacy", victim["replica"], "SIGKILL")
    assert killed["pid"] == victim["pid"]

    # Until the process is gone, connections the kernel still queued on it may be reset; from
    # then on (the supervisor reports it in back-off) the other replica must take every request.
    wait_until(lambda: shop.pods("legacy")[0]["pid"] is None, timeout=30, what="the killed replica to be reaped")
    served_while_down = failures = 0
    deadline = time.monotonic() + 60
    while True:
        pod = shop.pods("legacy")[0]
        if pod["ready"] and pod["pid"] not in (None, victim["pid"]):
            break
        assert time.monotonic() < deadline, f"legacy/0 was not restarted within 60 s: {pod}"
        if answers(url):
            served_while_down += 1
        else:
            failures += 1
    # As the runtime judges it: a zombie is gone, and a PID reused since is not the victim.
    assert not is_alive(victim["pid"], victim.get("create_time"))
    assert pod["restarts"] == victim["restarts"] + 1
    assert served_while_down >= 1, "no request was made while the replica was down; the test proves nothing"
    assert failures == 0, f"{failures} requests failed while the other replica was up"
    assert answers(url)


def test_a_link_cut_affects_open_connections_and_heals(shop: RuntimeClient) -> None:
    url = link_url(shop) + "/healthz"
    pooled = requests.Session()  # keeps its connection open, as a service's client pool does
    try:
        assert pooled.get(url, timeout=5).status_code == 200

        assert shop.cut_link(LINK, "blackhole")["state"] == "blackhole"
        with pytest.raises(requests.Timeout):
            pooled.get(url, timeout=1.0)
        assert not answers(url, timeout=1.0)  # new connections hang too

        shop.heal_link(LINK)
        wait_until(lambda: answers(url), timeout=10, what="the healed link to answer")

        assert pooled.get(url, timeout=5).status_code == 200
        assert shop.cut_link(LINK, "reset")["state"] == "reset"
        with pytest.raises(requests.ConnectionError):
            pooled.get(url, timeout=5)  # the pooled connection was reset, and so is the retry
        assert not answers(url)

        shop.heal_link(LINK)
        shop.add_latency(LINK, 400)
        start = time.monotonic()
        assert answers(url, timeout=10)
        assert time.monotonic() - start >= 0.4
        assert shop.limit_bandwidth(LINK, 64)["bandwidth_kbps"] == 64
        link = next(link for link in shop.links() if link["name"] == LINK)
        assert (link["state"], link["latency_ms"], link["bandwidth_kbps"]) == ("ok", 400, 64)
    finally:
        pooled.close()
        shop.heal_link(LINK)
    link = next(link for link in shop.links() if link["name"] == LINK)
    assert (link["state"], link["latency_ms"], link["bandwidth_kbps"]) == ("ok", 0, 0)
    assert answers(url)


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (lambda c: c.kill_pod("billing", 0), 404, "no pod billing/0; pods are inventory/0, legacy/0, legacy/1"),
        (lambda c: c.kill_pod("legacy", 0, "SIGNOPE"), 422, "signal 'SIGNOPE' is unknown"),
        (lambda c: c.cut_link("orders->legacy"), 404, "no link 'orders->legacy'; links are inventory->legacy"),
        (lambda c: c.cut_link(LINK, "sideways"), 422, "mode 'sideways' is not a partition"),
        (lambda c: c.add_latency(LINK, -1), 422, "latency -1 must be a whole number of ms"),
        (lambda c: c.limit_bandwidth(LINK, -1), 422, "bandwidth -1 must be a whole number of kbit/s"),
        (lambda c: c.audit("nope"), 422, "'ledger' must be a list"),
        (lambda c: c.freeze_pod("legacy", 9), 404, "no pod legacy/9"),
        (lambda c: c.stop_service("nothing"), 404, "no service 'nothing'"),
        (lambda c: c.cut_link(LINK, "blackhole", expires_in_s=-1), 422, "expires_in_s -1 must be more than 0"),
        (lambda c: c.rolling_restart("legacy", timeout_s=0), 422, "timeout_s 0 must be a number of seconds"),
        (lambda c: c.set_provider_fault(latency_ms=5), 404, "this shop runs no payments service"),
    ],
)
def test_the_control_api_refuses_bad_requests_naming_the_value_and_changes_nothing(
    shop: RuntimeClient, call: Any, status: int, message: str
) -> None:
    with pytest.raises(ControlError, match=message) as exc:
        call(shop)
    assert exc.value.status == status
    assert all(link["state"] == "ok" for link in shop.links())
    assert shop.status()["faults"] == []


def test_malformed_json_to_the_control_api_is_a_400_with_a_json_error(shop: RuntimeClient) -> None:
    resp = requests.post(f"{shop.control_url}/links/{LINK}/cut", data=b"{not json", timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"] == "malformed_json"
    assert "not valid JSON" in resp.json()["detail"]
    resp = requests.get(f"{shop.control_url}/nowhere", timeout=5)
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"


def test_the_audit_runs_through_the_control_api_and_names_what_it_cannot_read(shop: RuntimeClient) -> None:
    with pytest.raises(ControlError, match=r"ledger\[0\]: missing items") as bad:
        shop.audit([{"order_id": "o-1"}])
    assert bad.value.status == 422
    # This shop runs no orders service, so the audit finds no order store to read.
    with pytest.raises(ControlError, match=r"no such store: .*orders\.db") as partial:
        shop.audit([])
    assert partial.value.status == 503 and partial.value.code == "store_unreachable"


def test_a_frozen_pod_answers_nothing_until_thawed_or_its_expiry(shop: RuntimeClient) -> None:
    pod = shop.pods("legacy")[0]
    pod_url = f"http://127.0.0.1:{pod['port']}/healthz"
    # The checks below must all land before the expiry: 3 s leaves a busy machine room for them.
    frozen = shop.freeze_pod("legacy", pod["replica"], expires_in_s=3.0)
    assert frozen["frozen"] and frozen["pid"] == pod["pid"]
    assert not answers(pod_url, timeout=0.5)
    assert [f["fault"] for f in shop.status()["faults"]] == [f"pod:legacy/{pod['replica']}"]
    # Nobody thaws it: the runtime does, when the expiry passes. Same process, not a restart.
    wait_until(lambda: answers(pod_url, timeout=0.5), timeout=10, what="the expiry thawing the pod")
    after = next(p for p in shop.pods("legacy") if p["replica"] == pod["replica"])
    assert (after["pid"], after["frozen"], after["restarts"]) == (pod["pid"], False, pod["restarts"])
    assert shop.status()["faults"] == []


def test_a_stopped_service_stays_down_until_started(shop: RuntimeClient) -> None:
    url = service_url(shop, "legacy") + "/healthz"
    shop.stop_service("legacy", expires_in_s=60)
    try:
        wait_until(lambda: all(p["state"] == "held" for p in shop.pods("legacy")), timeout=10, what="held pods")
        time.sleep(1.5)  # longer than the restart back-off: a held pod is not restarted
        assert all(p["pid"] is None for p in shop.pods("legacy"))
        assert not answers(url, timeout=0.5)
    finally:
        shop.start_service("legacy")
    wait_until(lambda: answers(url), timeout=30, what="legacy back")
    shop.wait_ready(30)
    assert shop.status()["faults"] == []


def test_a_link_cut_heals_by_itself_when_its_expiry_passes(shop: RuntimeClient) -> None:
    cut = shop.cut_link(LINK, "reset", expires_in_s=0.5)
    assert cut["state"] == "reset" and cut["expires_at"] is not None
    wait_until(lambda: shop.links()[0]["state"] == "ok", timeout=5, what="the link's expiry")
    assert shop.links()[0]["expires_at"] is None


def test_a_rolling_restart_replaces_each_replica_in_turn(shop: RuntimeClient) -> None:
    before = {p["replica"]: p for p in shop.pods("legacy")}
    answer = shop.rolling_restart("legacy", timeout_s=60)
    steps = answer["steps"]
    assert [s["pod"] for s in steps] == [f"legacy/{r}" for r in sorted(before)]
    after = {p["replica"]: p for p in shop.pods("legacy")}
    for step, replica in zip(steps, sorted(before), strict=True):
        assert step["old_pid"] == before[replica]["pid"] != after[replica]["pid"] == step["new_pid"]
        assert after[replica]["ready"] and after[replica]["restarts"] == before[replica]["restarts"]


def test_heal_everything_undoes_every_fault_and_is_safe_on_a_healthy_shop(shop: RuntimeClient) -> None:
    shop.cut_link(LINK, "blackhole", expires_in_s=60)
    shop.freeze_pod("legacy", 0, expires_in_s=60)
    healed = shop.heal_everything()
    assert healed == [f"link {LINK} healed", "pod legacy/0 thawed"]
    assert shop.status()["faults"] == [] and shop.links()[0]["state"] == "ok"
    assert shop.heal_everything() == []
