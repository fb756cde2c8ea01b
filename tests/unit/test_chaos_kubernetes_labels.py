"""The labels the Kubernetes chaos platform finds pods by are the ones deploy/ writes.

The manifests repeat the platform's constants as literals; these tests compare the two, and
compute what the default selector matches in the rendered manifests.
"""

from __future__ import annotations

import pytest

from chaos.platforms.kubernetes import STORES as PLATFORM_STORES
from chaos.platforms.kubernetes_objects import (
    CHAOS_ALLOWED,
    DEFAULT_LABEL_SELECTOR,
    DEFAULT_NAMESPACE,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    STORE_LABEL,
    policy_name,
    selector_labels,
)
from retailflow.common.config import SERVICES
from retailflow.runtime.topology import STORES, flows
from tests.support.kube_api import parse_selector
from tests.support.manifests import objects, pod_templates
from tests.support.netpol import matches

SERVICE_LABELS = {service: {NAME_LABEL: service, PART_OF_LABEL: PART_OF} for service in SERVICES}


def test_the_constants_are_the_labels_the_design_names() -> None:
    assert DEFAULT_LABEL_SELECTOR.format(service="catalog") == (
        "app.kubernetes.io/name=catalog,app.kubernetes.io/part-of=retailflow"
    )
    assert CHAOS_ALLOWED == ("doorbuster.io/chaos", "allowed")


@pytest.mark.parametrize("service", SERVICES)
def test_the_default_selector_matches_exactly_the_services_pods(service: str) -> None:
    selector = parse_selector(DEFAULT_LABEL_SELECTOR.format(service=service))
    matched = [
        workload["metadata"]["name"]
        for workload, template in pod_templates(objects("in-cluster"))
        if matches(selector, template["metadata"]["labels"])
    ]
    assert matched == [service]


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_service_pdb_and_hpa_carry_and_select_the_same_labels(service: str) -> None:
    found = {o["kind"]: o for o in objects("base") if o["metadata"]["name"] == service}
    assert set(found) == {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    deployment = found["Deployment"]
    assert SERVICE_LABELS[service].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert deployment["spec"]["selector"]["matchLabels"] == SERVICE_LABELS[service]
    assert found["Service"]["spec"]["selector"] == SERVICE_LABELS[service]
    assert found["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == SERVICE_LABELS[service]
    for obj in found.values():
        assert SERVICE_LABELS[service].items() <= obj["metadata"]["labels"].items(), obj["kind"]
    hpa = found["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"], deployment["spec"]["replicas"]) == (3, 24, 3)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}


def test_the_shops_namespace_allows_chaos_and_is_the_platforms_default() -> None:
    namespace = next(o for o in objects("base") if o["kind"] == "Namespace")
    assert namespace["metadata"]["name"] == DEFAULT_NAMESPACE
    assert namespace["metadata"]["labels"][CHAOS_ALLOWED[0]] == CHAOS_ALLOWED[1]


def test_the_load_namespace_is_never_a_chaos_target() -> None:
    namespace = next(o for o in objects("load") if o["kind"] == "Namespace")
    assert CHAOS_ALLOWED[0] not in namespace["metadata"].get("labels", {})


def test_store_pods_carry_the_role_the_platform_and_the_policies_select() -> None:
    roles = {
        template["metadata"]["labels"].get(STORE_LABEL)
        for workload, template in pod_templates(objects("in-cluster"))
        if workload["kind"] == "StatefulSet"
    }
    assert roles == {store.name for store in STORES} == set(PLATFORM_STORES)


def test_every_flow_has_the_policy_the_platform_would_cut() -> None:
    names = {o["metadata"]["name"] for o in objects("base") if o["kind"] == "NetworkPolicy"}
    assert {policy_name(f"{src}->{dst}") for src, dst in flows()} <= names
    annotated = {
        o["metadata"]["annotations"]["doorbuster.io/flow"]
        for o in objects("base")
        if o["kind"] == "NetworkPolicy" and "doorbuster.io/flow" in o["metadata"].get("annotations", {})
    }
    assert annotated == {f"{src}->{dst}" for src, dst in flows()}


def test_a_changed_label_in_the_manifests_would_be_caught() -> None:
    deployment = next(o for o in objects("base") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["metadata"]["labels"][PART_OF_LABEL] = "retail-flow"
    service = deployment["metadata"]["name"]
    assert not matches(parse_selector(DEFAULT_LABEL_SELECTOR.format(service=service)),
                       deployment["spec"]["template"]["metadata"]["labels"])  # fmt: skip


def test_chaos_mesh_selectors_are_the_same_labels_as_equalities() -> None:
    assert selector_labels(DEFAULT_LABEL_SELECTOR.format(service="legacy")) == SERVICE_LABELS["legacy"]
    with pytest.raises(ValueError, match="is not an equality"):
        selector_labels("tier in (web)")
