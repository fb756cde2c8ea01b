"""What the Kubernetes platform writes to a cluster and how it finds the shop: pure data, no client.

The labels are a contract with deploy/: its manifests repeat them as literals, and a test
(tests/unit/test_chaos_kubernetes_labels.py) compares the two.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CHAOS_ALLOWED",
    "CHAOS_MESH_GROUP",
    "CHAOS_MESH_VERSION",
    "DEFAULT_LABEL_SELECTOR",
    "DEFAULT_NAMESPACE",
    "INJECTED_BY",
    "LINK_LABEL",
    "NAME_LABEL",
    "NETWORKCHAOS_PLURAL",
    "PART_OF",
    "PART_OF_LABEL",
    "SAVED_POLICY_KEY",
    "SAVED_POLICY_LABEL",
    "STORE_LABEL",
    "network_chaos",
    "policy_name",
    "restorable",
    "saved_policy",
    "selector_labels",
]

NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "retailflow"
# RetailFlow's pods: `{service}` is replaced; another shop gives its own per service (`selectors`).
DEFAULT_LABEL_SELECTOR = f"{NAME_LABEL}={{service}},{PART_OF_LABEL}={PART_OF}"
# A store's pods in the in-cluster overlay carry their role (postgres, mariadb, redis, bus).
STORE_LABEL = "doorbuster.io/store"
DEFAULT_NAMESPACE = "retailflow"
# The platform acts only in a namespace carrying this label.
CHAOS_ALLOWED = ("doorbuster.io/chaos", "allowed")

# Everything the platform creates or saves carries these, so a heal finds it from any process.
INJECTED_BY = ("doorbuster.io/injected-by", "doorbuster-chaos")
LINK_LABEL = "doorbuster.io/link"
SAVED_POLICY_LABEL = "doorbuster.io/saved-network-policy"
SAVED_POLICY_KEY = "networkpolicy.json"

CHAOS_MESH_GROUP = "chaos-mesh.org"
CHAOS_MESH_VERSION = "v1alpha1"
NETWORKCHAOS_PLURAL = "networkchaos"

# Server-owned metadata: a restored object must not carry them.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


def policy_name(link: str) -> str:
    """`inventory->legacy` → `inventory-to-legacy`, the allow policy deploy/ names after the flow."""
    src, sep, dst = link.partition("->")
    if not sep or not src or not dst:
        raise ValueError(f"link {link!r} must look like SOURCE->DESTINATION, e.g. inventory->legacy")
    return f"{src}-to-{dst}"


def selector_labels(selector: str) -> dict[str, str]:
    """`a=b,c=d` → {"a": "b", "c": "d"}; Chaos Mesh's labelSelectors take equalities only."""
    labels = {}
    for part in filter(None, (p.strip() for p in selector.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or key.endswith("!") or "(" in part:
            raise ValueError(f"label selector {selector!r}: {part!r} is not an equality (key=value)")
        labels[key.strip()] = value.removeprefix("=").strip()
    if not labels:
        raise ValueError(f"label selector {selector!r} names no label")
    return labels


def restorable(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as it can be created again: its spec, name, labels and annotations, no server fields."""
    metadata = {k: v for k, v in dict(policy.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": dict(policy["spec"]),
    }


def saved_policy(policy: Mapping[str, Any], link: str) -> dict[str, Any]:
    """A ConfigMap holding a policy about to be deleted: the rollback, or a later heal, re-creates it."""
    body = restorable(policy)
    name = body["metadata"]["name"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"doorbuster-saved-{name}"[:253],
            "labels": {INJECTED_BY[0]: INJECTED_BY[1], SAVED_POLICY_LABEL: name},
            "annotations": {"doorbuster.io/flow": link},
        },
        "data": {SAVED_POLICY_KEY: json.dumps(body, sort_keys=True)},
    }


def network_chaos(
    *,
    link: str,
    namespace: str,
    source: Mapping[str, str],
    target: Mapping[str, str],
    action: str,
    duration_s: float,
    latency_ms: int | None = None,
) -> dict[str, Any]:
    """A Chaos Mesh NetworkChaos from the source pods to the target pods of one link.

    Built here rather than with chaosk8s' chaosmesh helpers: those write `metadata.ns` (not a
    field) and give `target` an empty selector. `duration` is Chaos Mesh's own expiry: the fault
    heals even if the chaos process dies.
    """
    if action not in ("partition", "delay"):
        raise ValueError(f"NetworkChaos action {action!r}: partition or delay")
    spec: dict[str, Any] = {
        "action": action,
        "mode": "all",
        "selector": {"namespaces": [namespace], "labelSelectors": dict(source)},
        "direction": "to",
        "target": {"mode": "all", "selector": {"namespaces": [namespace], "labelSelectors": dict(target)}},
        "duration": f"{max(1, math.ceil(duration_s))}s",
    }
    if action == "delay":
        spec["delay"] = {"latency": f"{int(latency_ms or 0)}ms"}
    return {
        "apiVersion": f"{CHAOS_MESH_GROUP}/{CHAOS_MESH_VERSION}",
        "kind": "NetworkChaos",
        "metadata": {
            # A fresh name per fault: two experiments at once never clash (chaosk8s' fixed
            # names do), and create's 409-means-success of chaosk8s can never return a stale one.
            "name": f"doorbuster-{policy_name(link)}-{action}-{secrets.token_hex(3)}",
            "namespace": namespace,
            "labels": {INJECTED_BY[0]: INJECTED_BY[1], LINK_LABEL: policy_name(link)},
            "annotations": {"doorbuster.io/flow": link},
        },
        "spec": spec,
    }
