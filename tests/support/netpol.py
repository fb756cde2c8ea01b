"""Which flows a set of NetworkPolicies allows, computed from their selectors as a plugin would.

Kubernetes' semantics (networking.k8s.io/v1): a pod selected by no policy of type Egress may
send anywhere; a pod selected by one or more may send only what the union of their egress
rules allows. A rule allows a destination when one of its `to` peers selects it (no `to`: any
destination) on one of its ports (no ports: any port). Policies never deny: they only add.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Endpoint", "Flow", "allowed_flows", "endpoints_of", "matches"]

DNS_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class Endpoint:
    """A pod (by its workload's name) or an address outside the cluster."""

    name: str  # the pod's role: doorbuster.io/store, else app.kubernetes.io/name; "external" for an address
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    ports: frozenset[tuple[str, int, str]] = frozenset()  # (port name, number, protocol)


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    port: int
    protocol: str = "TCP"


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set; {} selects all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def endpoints_of(objects: Iterable[Mapping[str, Any]]) -> list[Endpoint]:
    """Every pod the workloads create, plus the cluster DNS that every cluster has."""
    found = [
        Endpoint(
            "dns",
            DNS_NAMESPACE,
            {"k8s-app": "kube-dns"},
            frozenset({("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")}),
        )
    ]
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        template = obj["spec"]["template"]
        labels = dict(template["metadata"].get("labels") or {})
        ports = frozenset(
            (port.get("name", ""), int(port["containerPort"]), port.get("protocol", "TCP"))
            for container in template["spec"]["containers"]
            for port in container.get("ports") or []
        )
        name = labels.get("doorbuster.io/store") or labels["app.kubernetes.io/name"]
        found.append(Endpoint(name, obj["metadata"]["namespace"], labels, ports))
    return found


def _namespace_labels(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    labels = {DNS_NAMESPACE: {"kubernetes.io/metadata.name": DNS_NAMESPACE}}
    for obj in objects:
        if obj["kind"] == "Namespace":
            name = obj["metadata"]["name"]
            # The API server adds this label to every namespace (Kubernetes >= 1.22).
            labels[name] = {**(obj["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
    return labels


def _peer_selects(peer: Mapping[str, Any], policy_ns: str, dst: Endpoint, ns_labels: Mapping[str, Any]) -> bool:
    if "ipBlock" in peer:
        return dst.name == "external"
    if dst.name == "external":
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], ns_labels.get(dst.namespace, {})):
            return False
    elif dst.namespace != policy_ns:
        return False
    return matches(peer.get("podSelector"), dst.labels)


def _ports_of(rule: Mapping[str, Any], dst: Endpoint) -> set[tuple[int, str]]:
    """The destination's ports a rule opens; an external address answers on any port asked."""
    if dst.name == "external":
        return {(int(p["port"]), p.get("protocol", "TCP")) for p in rule.get("ports") or []} or {(0, "ANY")}
    if not rule.get("ports"):
        return {(number, proto) for _, number, proto in dst.ports}
    opened = set()
    for rule_port in rule["ports"]:
        proto = rule_port.get("protocol", "TCP")
        for name, number, dst_proto in dst.ports:
            wanted = rule_port.get("port")
            if dst_proto == proto and (wanted is None or wanted in (name, number)):
                opened.add((number, proto))
    return opened


def _restricts_egress(policy: Mapping[str, Any]) -> bool:
    types = policy["spec"].get("policyTypes")
    if types is None:  # the API's default: Ingress, plus Egress when egress rules are given
        return bool(policy["spec"].get("egress"))
    return "Egress" in types


def allowed_flows(objects: Iterable[Mapping[str, Any]]) -> set[Flow]:
    """Every (source pod, destination, port) the objects' NetworkPolicies let through.

    A source pod that no egress policy selects yields a flow to "*" (it may send anywhere).
    """
    objects = list(objects)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    ns_labels = _namespace_labels(objects)
    pods = endpoints_of(objects)
    destinations = [*pods, Endpoint("external", "")]
    flows: set[Flow] = set()
    for src in pods:
        if src.name == "dns":
            continue
        selecting = [
            p
            for p in policies
            if p["metadata"]["namespace"] == src.namespace
            and _restricts_egress(p)
            and matches(p["spec"].get("podSelector"), src.labels)
        ]
        if not selecting:
            flows.add(Flow(src.name, "*", 0, "ANY"))
            continue
        for policy in selecting:
            for rule in policy["spec"].get("egress") or []:
                namespace = policy["metadata"]["namespace"]
                for dst in destinations:
                    peers = rule.get("to")
                    if peers and not any(_peer_selects(p, namespace, dst, ns_labels) for p in peers):
                        continue
                    for number, proto in _ports_of(rule, dst):
                        flows.add(Flow(src.name, dst.name, number, proto))
    return flows
