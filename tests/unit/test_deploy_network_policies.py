"""The NetworkPolicies allow exactly the shop's flows (retailflow/runtime/topology.py), computed
from their selectors, and deleting `inventory-to-legacy` removes that flow and no other."""

from __future__ import annotations

from typing import Any

import pytest

from retailflow.runtime.topology import STORES, flows
from tests.support.manifests import objects
from tests.support.netpol import Flow, allowed_flows

PARTITION_POLICY = "inventory-to-legacy"


def without(objs: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    kept = [o for o in objs if not (o["kind"] == kind and o["metadata"]["name"] == name)]
    assert len(kept) == len(objs) - 1, f"no {kind} {name} to delete"
    return kept


def pairs(allowed: set[Flow]) -> set[tuple[str, str]]:
    """The shop's own flows: everything but the DNS lookups every pod makes."""
    return {(f.src, f.dst) for f in allowed if f.dst != "dns"}


def store_ports() -> dict[str, int]:
    """Each store's port, as its in-cluster pods listen."""
    ports = {}
    for obj in objects("in-cluster"):
        labels = obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        if "doorbuster.io/store" in labels:
            ports[labels["doorbuster.io/store"]] = obj["spec"]["template"]["spec"]["containers"][0]["ports"][0][
                "containerPort"
            ]
    return ports


def test_in_cluster_policies_allow_each_flow_of_the_topology_and_no_other() -> None:
    allowed = allowed_flows(objects("in-cluster"))
    assert not [f for f in allowed if f.dst == "*"], "a pod no egress policy selects may send anywhere"
    assert pairs(allowed) == set(flows())


def test_service_calls_go_to_the_http_port_and_store_flows_to_the_stores_port() -> None:
    allowed = allowed_flows(objects("in-cluster"))
    ports = store_ports()
    for flow in allowed:
        if flow.dst == "dns":
            continue
        expected = ports.get(flow.dst, 8080)
        assert (flow.port, flow.protocol) == (expected, "TCP"), flow


def test_every_pod_may_resolve_names_through_the_cluster_dns_only() -> None:
    allowed = allowed_flows(objects("in-cluster"))
    sources = {f.src for f in allowed} | {"postgres", "mariadb", "redis", "bus"}
    dns = {(f.src, f.port, f.protocol) for f in allowed if f.dst == "dns"}
    assert dns == {(src, 53, proto) for src in sources for proto in ("UDP", "TCP")}


def test_deleting_inventory_to_legacy_removes_exactly_the_dual_write_flow() -> None:
    objs = objects("in-cluster")
    before = allowed_flows(objs)
    after = allowed_flows(without(objs, "NetworkPolicy", PARTITION_POLICY))
    assert before - after == {Flow("inventory", "legacy", 8080)}
    assert after <= before  # deleting an allow policy never opens anything


@pytest.mark.parametrize("policy", ["orders-to-payments", "catalog-to-redis", "allow-dns"])
def test_deleting_another_policy_cuts_another_flow_not_the_dual_write(policy: str) -> None:
    objs = objects("in-cluster")
    after = allowed_flows(without(objs, "NetworkPolicy", policy))
    assert Flow("inventory", "legacy", 8080) in after
    assert after != allowed_flows(objs)


def test_the_default_deny_keeps_pods_without_an_allow_policy_isolated() -> None:
    # The stores have no allow policy of their own: only the namespace-wide policies isolate them.
    # allow-dns selects every pod too, so it takes both going for them to send anywhere.
    objs = objects("in-cluster")
    no_dns = without(objs, "NetworkPolicy", "allow-dns")
    assert not [f for f in allowed_flows(no_dns) if f.dst == "*"]
    open_egress = allowed_flows(without(no_dns, "NetworkPolicy", "default-deny-egress"))
    assert {f.src for f in open_egress if f.dst == "*"} == {"postgres", "mariadb", "redis", "bus"}


def test_a_too_broad_selector_is_caught() -> None:
    objs = objects("in-cluster")
    policy = next(o for o in objs if o["metadata"]["name"] == "orders-to-payments")
    policy["spec"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/part-of": "retailflow"}}
    extra = pairs(allowed_flows(objs)) - set(flows())
    assert ("gateway", "payments") in extra and ("catalog", "payments") in extra


def test_a_policy_to_a_port_nobody_listens_on_allows_nothing() -> None:
    objs = objects("in-cluster")
    policy = next(o for o in objs if o["metadata"]["name"] == PARTITION_POLICY)
    policy["spec"]["egress"][0]["ports"][0]["port"] = 8081
    assert ("inventory", "legacy") not in pairs(allowed_flows(objs))


def test_managed_stores_reach_each_store_only_from_its_users_and_only_on_its_port() -> None:
    allowed = allowed_flows(objects("managed-stores"))
    ports = store_ports()
    calls = {pair for pair in flows() if pair[1] not in ports}
    assert {(f.src, f.dst) for f in allowed if f.dst not in ("dns", "external")} == calls
    external = {(f.src, f.port) for f in allowed if f.dst == "external"}
    expected = {(user, ports[store.name]) for store in STORES for user in store.users}
    assert external == expected
