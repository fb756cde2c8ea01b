"""Faults on a link (`inventory->legacy`) on a cluster: its allow policy deleted and restored, or
a Chaos Mesh NetworkChaos (partition, delay) created and deleted.

A partition cannot be added on top of a policy that allows the flow (policies only add), so
deploy/ denies egress by default and allows each flow with a policy of its own; the cut deletes
that policy after saving it in a ConfigMap, and the heal re-creates it from the saved spec. The
state lives in the cluster, labelled, so any process can heal what another injected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed
from kubernetes import client
from kubernetes.client.rest import ApiException

from chaos.platforms.base import Link
from chaos.platforms.kubernetes_cluster import Cluster, chaosk8s
from chaos.platforms.kubernetes_objects import (
    CHAOS_MESH_GROUP,
    CHAOS_MESH_VERSION,
    INJECTED_BY,
    LINK_LABEL,
    NETWORKCHAOS_PLURAL,
    PART_OF,
    PART_OF_LABEL,
    SAVED_POLICY_KEY,
    SAVED_POLICY_LABEL,
    STORE_LABEL,
    network_chaos,
    policy_name,
    saved_policy,
    selector_labels,
)

__all__ = ["STORES", "LinkFaults"]

# The stores a link may end at; their pods (in-cluster overlay) carry doorbuster.io/store=<name>.
STORES = ("postgres", "mariadb", "redis", "bus")
FLOW_ANNOTATION = "doorbuster.io/flow"


class LinkFaults:
    def __init__(self, cluster: Cluster, policy_names: Mapping[str, str]) -> None:
        self.cluster = cluster
        self.policy_names = dict(policy_names)

    def policy(self, link: str) -> str:
        """The allow policy of a link: `network_policies[link]`, else `<source>-to-<destination>`."""
        if link in self.policy_names:
            return self.policy_names[link]
        try:
            return policy_name(link)
        except ValueError as exc:
            raise ActivityFailed(str(exc)) from None

    # -- Chaos Mesh -----------------------------------------------------------------------------
    def _end_labels(self, end: str) -> dict[str, str]:
        """The labels of one end of a link: a service's selector, or a store's role label."""
        if end in STORES and end not in self.cluster.selectors:
            return {STORE_LABEL: end, PART_OF_LABEL: PART_OF}
        try:
            return selector_labels(self.cluster.selector(end))
        except ValueError as exc:
            raise ActivityFailed(f"Chaos Mesh needs equality selectors: {exc}") from None

    def pod_ends(self, link: str) -> tuple[dict[str, str], dict[str, str]] | None:
        """Both ends' labels when each matches a pod here; None when one does not (a managed store)."""
        src, _, dst = link.partition("->")
        ends = (self._end_labels(src), self._end_labels(dst))
        for labels in ends:
            if not self.cluster.list_pods(",".join(f"{k}={v}" for k, v in labels.items())):
                return None
        return ends

    def create_network_chaos(self, link: str, action: str, expires_in_s: float, latency_ms: int | None = None) -> None:
        ends = self.pod_ends(link)
        if ends is None:
            raise ActivityFailed(
                f"link {link!r}: Chaos Mesh acts between pods, and one end has no pod in namespace "
                f"{self.cluster.namespace!r} (a store outside the cluster?)"
            )
        body = network_chaos(
            link=link, namespace=self.cluster.namespace, source=ends[0], target=ends[1], action=action,
            duration_s=expires_in_s, latency_ms=latency_ms,
        )  # fmt: skip
        chaosk8s().crd.actions.create_custom_object(
            CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, NETWORKCHAOS_PLURAL, self.cluster.namespace, resource=body,
            secrets=self.cluster.secrets,
        )  # fmt: skip

    def network_chaos(self, policy: str | None = None) -> list[dict[str, Any]]:
        """The NetworkChaos objects this platform made (for one link's policy, or all)."""
        if not self.cluster.has_chaos_mesh():
            return []
        custom = client.CustomObjectsApi(self.cluster.api())
        selector = f"{LINK_LABEL}={policy}" if policy else f"{INJECTED_BY[0]}={INJECTED_BY[1]}"
        found = self.cluster.call(
            "listing NetworkChaos",
            lambda: custom.list_namespaced_custom_object(
                CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, self.cluster.namespace, NETWORKCHAOS_PLURAL,
                label_selector=selector,
            ),
        )  # fmt: skip
        return list(found.get("items") or [])

    def delete_network_chaos(self, name: str) -> None:
        chaosk8s().crd.actions.delete_custom_object(
            CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, NETWORKCHAOS_PLURAL, name,
            ns=self.cluster.namespace, secrets=self.cluster.secrets,
        )  # fmt: skip

    # -- the allow policy ----------------------------------------------------------------------
    def delete_policy(self, link: str) -> None:
        """Save the link's allow policy in a ConfigMap, then delete it (chaosk8s remove_network_policy)."""
        policy = self.policy(link)
        cluster = self.cluster
        net = client.NetworkingV1Api(cluster.api())
        current = cluster.call(
            f"reading NetworkPolicy {policy!r} of link {link!r} (is deploy/ applied?)",
            lambda: net.read_namespaced_network_policy(policy, cluster.namespace),
        )
        save = saved_policy(cluster.api().sanitize_for_serialization(current), link)
        try:
            client.CoreV1Api(cluster.api()).create_namespaced_config_map(cluster.namespace, save)
        except ApiException as exc:
            if exc.status != 409:  # 409: saved by an earlier cut that was never healed: keep the original
                raise ActivityFailed(
                    f"saving NetworkPolicy {policy!r} before the cut: {exc.status} {exc.reason}"
                ) from None
        cluster.call(
            f"deleting NetworkPolicy {policy!r}",
            lambda: chaosk8s().networking.actions.remove_network_policy(
                policy, ns=cluster.namespace, secrets=cluster.secrets
            ),
        )

    def saved_policies(self, policy: str | None = None) -> list[Any]:
        core = client.CoreV1Api(self.cluster.api())
        selector = f"{SAVED_POLICY_LABEL}={policy}" if policy else SAVED_POLICY_LABEL
        found = self.cluster.call(
            "listing saved NetworkPolicies",
            lambda: core.list_namespaced_config_map(self.cluster.namespace, label_selector=selector),
        )
        return list(found.items)

    def restore(self, saved: Any) -> str:
        """Re-create a saved policy from its spec and drop the saved copy; the policy's name."""
        body = json.loads(saved.data[SAVED_POLICY_KEY])
        name = body["metadata"]["name"]
        cluster = self.cluster
        try:
            client.NetworkingV1Api(cluster.api()).create_namespaced_network_policy(cluster.namespace, body)
        except ApiException as exc:
            if exc.status != 409:  # 409: it is back already (a heal ran twice): nothing to restore
                raise ActivityFailed(f"re-creating NetworkPolicy {name!r}: {exc.status} {exc.reason}") from None
        core = client.CoreV1Api(cluster.api())
        cluster.call(
            f"deleting the saved copy of {name!r}",
            lambda: core.delete_namespaced_config_map(saved.metadata.name, cluster.namespace),
        )
        return name

    # -- what the platform answers --------------------------------------------------------------
    def links(self) -> list[Link]:
        """Every flow with an allow policy or a fault of ours, and its state."""
        net = client.NetworkingV1Api(self.cluster.api())
        policies = self.cluster.call(
            "listing NetworkPolicies", lambda: net.list_namespaced_network_policy(self.cluster.namespace)
        )
        found: dict[str, Link] = {}
        for policy in policies.items:
            flow = (policy.metadata.annotations or {}).get(FLOW_ANNOTATION)
            if flow:
                found[flow] = Link(flow, "ok")
        for saved in self.saved_policies():
            flow = (saved.metadata.annotations or {}).get(FLOW_ANNOTATION)
            if flow:
                found[flow] = Link(flow, "blackhole")
        for chaos in self.network_chaos():
            flow = chaos["metadata"].get("annotations", {}).get(FLOW_ANNOTATION)
            if not flow:
                continue
            if chaos["spec"]["action"] == "partition":
                found[flow] = Link(flow, "blackhole")
            else:
                latency = int(str(chaos["spec"].get("delay", {}).get("latency", "0ms")).removesuffix("ms") or 0)
                found[flow] = Link(flow, found.get(flow, Link(flow, "ok")).state, latency_ms=latency)
        return [found[name] for name in sorted(found)]

    def heal(self, link: str) -> None:
        """Delete this link's NetworkChaos and re-create its saved policy. Safe on a healthy link."""
        policy = self.policy(link)
        for chaos in self.network_chaos(policy):
            self.delete_network_chaos(chaos["metadata"]["name"])
        for saved in self.saved_policies(policy):
            self.restore(saved)

    def heal_all(self) -> list[str]:
        healed = [f"re-created NetworkPolicy {self.restore(saved)}" for saved in self.saved_policies()]
        for chaos in self.network_chaos():
            self.delete_network_chaos(chaos["metadata"]["name"])
            healed.append(f"deleted NetworkChaos {chaos['metadata']['name']}")
        return healed
