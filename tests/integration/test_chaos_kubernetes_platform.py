"""The chaos extension's Kubernetes platform against an emulated API server, asserting the calls.

The cluster is seeded from the real manifests (`kubectl kustomize deploy/overlays/in-cluster`):
its namespace, Deployments and NetworkPolicies, and pods made from the pod templates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import kmock
import pytest
import requests
from chaoslib.exceptions import ActivityFailed

from doorbuster.chaos.link.actions import partition_link, slow_link
from doorbuster.chaos.platforms import NotSupported, platform_for
from doorbuster.chaos.platforms.kubernetes_objects import DEFAULT_LABEL_SELECTOR
from doorbuster.chaos.pod.actions import terminate_pods
from tests.support.chaos_mesh import validate_network_chaos
from tests.support.kube_api import EmulatedCluster, emulated_cluster, seed
from tests.support.manifests import objects

NS = "/api/v1/namespaces/retailflow"
POLICY = "/apis/networking.k8s.io/v1/namespaces/retailflow/networkpolicies"
CHAOS = "/apis/chaos-mesh.org/v1alpha1/namespaces/retailflow/networkchaos"
CONFIG = {"platform": "kubernetes"}


@contextmanager
def seeded_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, chaos_mesh: bool) -> Iterator[EmulatedCluster]:
    """The emulated cluster holding the shop, the kubeconfig pointing at it, its request log empty."""
    with emulated_cluster(chaos_mesh=chaos_mesh) as emulated:
        emulated.use_kubeconfig(tmp_path / "kubeconfig", monkeypatch)
        seed(emulated)
        emulated.forget()
        yield emulated


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedCluster]:
    with seeded_cluster(tmp_path, monkeypatch, chaos_mesh=False) as emulated:
        yield emulated


@pytest.fixture()
def mesh_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedCluster]:
    with seeded_cluster(tmp_path, monkeypatch, chaos_mesh=True) as emulated:
        yield emulated


def rendered_policy(name: str) -> dict[str, Any]:
    return next(o for o in objects("in-cluster") if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == name)


# -- pods -------------------------------------------------------------------------------------


def test_terminate_pods_deletes_one_pod_matching_the_services_selector_and_no_other(
    cluster: EmulatedCluster,
) -> None:
    killed = terminate_pods(service="catalog", qty=1, rand=False, configuration=CONFIG)
    assert killed == [{"pod": "catalog-5d8f9c-0", "pid": None, "restarts": 0}]
    assert cluster.calls() == [
        ("GET", f"{NS}/pods"),  # the service's pods, by its selector
        ("GET", NS),  # the namespace's chaos label
        ("GET", f"{NS}/pods"),  # chaosk8s terminate_pods lists by the same selector
        ("DELETE", f"{NS}/pods/catalog-5d8f9c-0"),
    ]
    selectors = {r.params.get("labelSelector") for r in cluster.requests() if r.url.path == f"{NS}/pods"}
    assert selectors == {DEFAULT_LABEL_SELECTOR.format(service="catalog")}
    assert [n for n in cluster.names("Pod") if n.startswith("catalog")] == ["catalog-5d8f9c-1", "catalog-5d8f9c-2"]
    delete = next(r for r in cluster.requests() if str(r.method.value).upper() == "DELETE")
    assert delete.data["gracePeriodSeconds"] == 0  # SIGKILL: no grace


def test_a_graceful_termination_keeps_the_grace_period(cluster: EmulatedCluster) -> None:
    terminate_pods(service="orders", rand=False, signal="SIGTERM", grace_period_s=5, configuration=CONFIG)
    delete = next(r for r in cluster.requests() if str(r.method.value).upper() == "DELETE")
    assert delete.url.path == f"{NS}/pods/orders-5d8f9c-0" and delete.data["gracePeriodSeconds"] == 5


def test_a_signal_kubernetes_cannot_send_is_not_supported(cluster: EmulatedCluster) -> None:
    with pytest.raises(NotSupported, match=r"sending SIGHUP to pod .* is not supported on kubernetes"):
        terminate_pods(service="orders", signal="SIGHUP", configuration=CONFIG)
    assert cluster.calls("DELETE") == []


def test_another_shops_selector_comes_from_the_configuration(cluster: EmulatedCluster) -> None:
    for i in range(2):
        cluster.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"shop-web-{i}", "namespace": "retailflow", "labels": {"app": "web"}},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
    config = {**CONFIG, "selectors": {"storefront": "app=web"}}
    assert [p.name for p in platform_for(config).pods("storefront")] == ["shop-web-0", "shop-web-1"]
    terminate_pods(service="storefront", rand=False, configuration=config)
    assert cluster.calls("DELETE") == [("DELETE", f"{NS}/pods/shop-web-0")]


def test_an_empty_selector_is_refused_before_any_call(cluster: EmulatedCluster) -> None:
    with pytest.raises(ActivityFailed, match=r"no label selector for service 'catalog'.*refusing to act on every pod"):
        terminate_pods(service="catalog", configuration={**CONFIG, "selectors": {"catalog": " "}})
    with pytest.raises(ActivityFailed, match="configuration label_selector is empty"):
        terminate_pods(service="catalog", configuration={**CONFIG, "label_selector": ""})
    assert cluster.calls() == []


def test_a_selector_that_matches_nothing_fails_and_deletes_nothing(cluster: EmulatedCluster) -> None:
    with pytest.raises(ActivityFailed, match="selector 'app=nothing' matches no pod in namespace 'retailflow'"):
        terminate_pods(service="catalog", configuration={**CONFIG, "selectors": {"catalog": "app=nothing"}})
    assert cluster.calls("DELETE") == []


def test_a_pod_gone_before_the_delete_fails_instead_of_passing_quietly(cluster: EmulatedCluster) -> None:
    platform = platform_for(CONFIG)
    pod = platform.pods("catalog")[0]
    cluster.emulator.objects[next(k for k in cluster.emulator.objects if k[2] == pod.name)].delete()
    with pytest.raises(ActivityFailed, match=r"matches no pod named 'catalog-5d8f9c-0'.*nothing was terminated"):
        platform.terminate_pod(pod)
    assert cluster.calls("DELETE") == []


def test_an_unlabelled_namespace_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with emulated_cluster() as emulated:
        emulated.use_kubeconfig(tmp_path / "kubeconfig", monkeypatch)
        seed(emulated, allowed=False)
        emulated.forget()
        with pytest.raises(ActivityFailed, match=r"namespace 'retailflow' is not labelled doorbuster.io/chaos=allowed"):
            terminate_pods(service="catalog", configuration=CONFIG)
        with pytest.raises(ActivityFailed, match=r"not labelled doorbuster.io/chaos=allowed"):
            partition_link(link="inventory->legacy", duration_s=0.1, configuration=CONFIG)
        assert emulated.calls("DELETE", "POST", "PATCH") == []


def test_freezing_is_not_supported_on_kubernetes(cluster: EmulatedCluster) -> None:
    platform = platform_for(CONFIG)
    with pytest.raises(NotSupported, match="freezing pod catalog-5d8f9c-0 is not supported on kubernetes"):
        platform.freeze_pod(platform.pods("catalog")[0], expires_in_s=10)


# -- the partition: the named NetworkPolicy -----------------------------------------------------


def test_the_partition_deletes_the_policy_and_the_rollback_recreates_it_from_the_same_spec(
    cluster: EmulatedCluster,
) -> None:
    original = rendered_policy("inventory-to-legacy")
    result = partition_link(link="inventory->legacy", duration_s=0.1, configuration=CONFIG)
    assert result["links"] == ["inventory->legacy"]
    mutations = cluster.calls("DELETE", "POST", "PUT", "PATCH")
    assert mutations == [
        ("POST", f"{NS}/configmaps"),  # the policy saved before it goes
        ("DELETE", f"{POLICY}/inventory-to-legacy"),  # the cut
        ("POST", POLICY),  # the heal: re-created
        ("DELETE", f"{NS}/configmaps/doorbuster-saved-inventory-to-legacy"),
    ]
    recreated = cluster.bodies("POST", POLICY)[0]
    assert recreated["metadata"]["name"] == "inventory-to-legacy"
    assert recreated["spec"] == original["spec"]
    assert recreated["metadata"]["labels"] == original["metadata"]["labels"]
    assert cluster.get("NetworkPolicy", "inventory-to-legacy")["spec"] == original["spec"]
    assert cluster.names("ConfigMap") == []


def test_the_cut_touches_no_other_policy(cluster: EmulatedCluster) -> None:
    before = cluster.names("NetworkPolicy")
    platform_for(CONFIG).cut_link("inventory->legacy", "blackhole", expires_in_s=30)
    assert sorted(set(before) - set(cluster.names("NetworkPolicy"))) == ["inventory-to-legacy"]
    assert [link.state for link in platform_for(CONFIG).links() if link.name == "inventory->legacy"] == ["blackhole"]


def test_a_later_process_heals_a_cut_whose_rollback_never_ran(cluster: EmulatedCluster) -> None:
    platform_for(CONFIG).cut_link("inventory->legacy", "blackhole", expires_in_s=30)
    healed = platform_for(CONFIG).heal_everything()  # a new instance: what `chaos run` does after a kill
    assert healed == ["re-created NetworkPolicy inventory-to-legacy"]
    assert cluster.get("NetworkPolicy", "inventory-to-legacy")["spec"] == rendered_policy("inventory-to-legacy")["spec"]


def test_healing_a_healthy_link_changes_nothing(cluster: EmulatedCluster) -> None:
    platform_for(CONFIG).heal_link("inventory->legacy")
    assert cluster.calls("DELETE", "POST", "PUT", "PATCH") == []


def test_a_reset_partition_is_not_supported(cluster: EmulatedCluster) -> None:
    with pytest.raises(NotSupported, match="cutting link 'inventory->legacy' with mode 'reset' is not supported"):
        platform_for(CONFIG).cut_link("inventory->legacy", "reset", expires_in_s=30)
    assert cluster.calls("DELETE", "POST") == []


def test_a_link_without_its_policy_fails_naming_it(cluster: EmulatedCluster) -> None:
    with pytest.raises(ActivityFailed, match="reading NetworkPolicy 'payments-to-legacy' of link"):
        platform_for(CONFIG).cut_link("payments->legacy", "blackhole", expires_in_s=30)
    assert cluster.calls("DELETE") == []


def test_latency_needs_chaos_mesh(cluster: EmulatedCluster) -> None:
    with pytest.raises(NotSupported, match="adding latency to link 'inventory->legacy' without Chaos Mesh"):
        slow_link(link="inventory->legacy", latency_ms=200, duration_s=0.1, configuration=CONFIG)
    assert cluster.calls("POST", "DELETE") == []


# -- Chaos Mesh ------------------------------------------------------------------------------------


def test_with_chaos_mesh_the_partition_is_a_network_chaos_created_and_deleted(mesh_cluster: EmulatedCluster) -> None:
    partition_link(link="inventory->legacy", duration_s=0.1, configuration=CONFIG)
    mutations = mesh_cluster.calls("DELETE", "POST", "PUT", "PATCH")
    assert [m[0] for m in mutations] == ["POST", "DELETE"]
    assert mutations[0] == ("POST", CHAOS)
    created = mesh_cluster.bodies("POST", CHAOS)[0]
    assert mutations[1] == ("DELETE", f"{CHAOS}/{created['metadata']['name']}")
    validate_network_chaos(created)
    assert created["spec"]["action"] == "partition"
    assert created["spec"]["selector"]["labelSelectors"] == {
        "app.kubernetes.io/name": "inventory",
        "app.kubernetes.io/part-of": "retailflow",
    }
    assert created["spec"]["target"]["selector"]["labelSelectors"]["app.kubernetes.io/name"] == "legacy"
    assert mesh_cluster.get("NetworkPolicy", "inventory-to-legacy") is not None  # the policy is not touched
    assert mesh_cluster.names("NetworkChaos") == []


def test_with_chaos_mesh_latency_is_a_network_chaos_delay_the_rollback_deletes(mesh_cluster: EmulatedCluster) -> None:
    slow_link(link="inventory->legacy", latency_ms=250, duration_s=0.1, configuration=CONFIG)
    created = mesh_cluster.bodies("POST", CHAOS)[0]
    validate_network_chaos(created)
    assert created["spec"]["action"] == "delay" and created["spec"]["delay"] == {"latency": "250ms"}
    assert mesh_cluster.calls("DELETE") == [("DELETE", f"{CHAOS}/{created['metadata']['name']}")]
    assert mesh_cluster.names("NetworkChaos") == []


def test_chaos_mesh_can_be_turned_off_for_the_policy_partition(mesh_cluster: EmulatedCluster) -> None:
    platform_for({**CONFIG, "chaos_mesh": "false"}).cut_link("inventory->legacy", "blackhole", expires_in_s=30)
    assert mesh_cluster.calls("DELETE") == [("DELETE", f"{POLICY}/inventory-to-legacy")]
    assert mesh_cluster.calls("POST") == [("POST", f"{NS}/configmaps")]


def test_the_crd_validation_refuses_what_chaosk8s_chaosmesh_helpers_build() -> None:
    # Why the platform builds its own NetworkChaos: chaosk8s 0.39 writes metadata.ns (no such field).
    from chaosk8s.chaosmesh.network import actions

    captured: dict[str, Any] = {}

    def capture(group: str, version: str, plural: str, ns: str, resource: Any, secrets: Any = None) -> Any:
        captured.update(resource)

    original = actions.create_custom_object
    actions.create_custom_object = capture
    try:
        actions.add_latency("x", ns="retailflow", label_selectors="app=inventory", latency="10ms")
    finally:
        actions.create_custom_object = original
    with pytest.raises(jsonschema.ValidationError, match="'ns' was unexpected"):
        validate_network_chaos(captured)


# -- services ----------------------------------------------------------------------------------------


def test_stop_scales_to_zero_keeping_the_count_and_start_scales_back(cluster: EmulatedCluster) -> None:
    platform = platform_for(CONFIG)
    platform.stop_service("notifications", expires_in_s=30)
    deployment = cluster.get("Deployment", "notifications")
    assert deployment["spec"]["replicas"] == 0
    assert deployment["metadata"]["annotations"]["doorbuster.io/replicas-before-stop"] == "3"
    assert cluster.calls("PATCH") == [("PATCH", "/apis/apps/v1/namespaces/retailflow/deployments/notifications")] * 2
    cluster.forget()
    platform.start_service("notifications")
    deployment = cluster.get("Deployment", "notifications")
    assert deployment["spec"]["replicas"] == 3
    assert not (deployment["metadata"].get("annotations") or {}).get("doorbuster.io/replicas-before-stop")
    cluster.forget()
    platform.start_service("notifications")  # safe on a running service
    assert cluster.calls("PATCH") == []


def restart_rollout(cluster: EmulatedCluster, service: str) -> None:
    """Play the Deployment controller for one rollout: new pods replace the old, the status follows."""

    def rollout(request: Any) -> Any:
        if request.name != service or "template" not in (request.data.get("spec") or {}):
            return cluster.get("Deployment", request.name)  # not a restart of this service
        pods = [
            k for k, o in cluster.emulator.objects.items() if k[2].startswith(f"{service}-5d8f9c-") and not o.deleted
        ]
        for key in pods:
            cluster.emulator.objects[key].delete()
        deployment = cluster.get("Deployment", service)
        for i in range(deployment["spec"]["replicas"]):
            cluster.add(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{service}-77aa00-{i}",
                        "namespace": "retailflow",
                        "labels": deployment["spec"]["template"]["metadata"]["labels"],
                    },
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                }
            )
        deployment["metadata"]["generation"] = 2
        deployment["status"] = {"observedGeneration": 2, "updatedReplicas": 3, "readyReplicas": 3, "replicas": 3}
        cluster.add(deployment)
        return deployment

    cluster.emulator["patch", kmock.resource("apps", "v1", "deployments")] << rollout


def test_a_rolling_restart_is_kubectls_restart_annotation_and_waits_for_the_rollout(cluster: EmulatedCluster) -> None:
    restart_rollout(cluster, "catalog")
    steps = platform_for(CONFIG).rolling_restart("catalog", timeout_s=10)
    assert [(s.old, s.new) for s in steps] == [(f"catalog-5d8f9c-{i}", f"catalog-77aa00-{i}") for i in range(3)]
    patch = next(r for r in cluster.requests() if str(r.method.value).upper() == "PATCH")
    assert patch.url.path == "/apis/apps/v1/namespaces/retailflow/deployments/catalog"
    assert "kubectl.kubernetes.io/restartedAt" in patch.data["spec"]["template"]["metadata"]["annotations"]
    assert cluster.calls("DELETE") == []  # the Deployment replaces the pods, not the platform


def test_a_rolling_restart_that_never_finishes_fails_within_its_bound(cluster: EmulatedCluster) -> None:
    with pytest.raises(ActivityFailed, match=r"rolling restart of catalog did not finish within 1.5 s"):
        platform_for(CONFIG).rolling_restart("catalog", timeout_s=1.5)


def test_heal_everything_undoes_every_kind_of_fault_from_a_fresh_process(mesh_cluster: EmulatedCluster) -> None:
    injector = platform_for(CONFIG)
    injector.slow_link("inventory->legacy", 300, expires_in_s=60)
    platform_for({**CONFIG, "chaos_mesh": "false"}).cut_link("orders->payments", "blackhole", expires_in_s=60)
    injector.stop_service("notifications", expires_in_s=60)
    assert len(mesh_cluster.names("NetworkChaos")) == 1
    healed = platform_for(CONFIG).heal_everything()
    assert healed[0] == "re-created NetworkPolicy orders-to-payments"
    assert healed[1].startswith("deleted NetworkChaos doorbuster-inventory-to-legacy-delay-")
    assert healed[2] == "scaled Deployment notifications back to 3"
    assert mesh_cluster.names("NetworkChaos") == [] and mesh_cluster.names("ConfigMap") == []
    assert mesh_cluster.get("Deployment", "notifications")["spec"]["replicas"] == 3
    assert mesh_cluster.get("NetworkPolicy", "orders-to-payments") is not None
    assert platform_for(CONFIG).heal_everything() == []  # nothing left


def test_the_audit_says_what_it_needs_to_reach_the_stores(
    cluster: EmulatedCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RF_DB_URL", raising=False)
    monkeypatch.delenv("RF_LEGACY_DB_URL", raising=False)
    with pytest.raises(ActivityFailed, match="set configuration db_url and legacy_db_url"):
        platform_for(CONFIG).audit([], timeout_s=10)


# -- RBAC: deploy/chaos grants what the platform does -------------------------------------------------

VERBS = {"POST": "create", "DELETE": "delete", "PATCH": "patch", "PUT": "update"}


def rbac_rules() -> list[tuple[str | None, dict[str, Any]]]:
    """(namespace the rule applies in, or None for a ClusterRole; the rule)."""
    found = []
    for obj in objects("chaos"):
        if obj["kind"] in ("Role", "ClusterRole"):
            for rule in obj["rules"]:
                found.append((obj["metadata"].get("namespace"), rule))
    return found


def permitted(request: Any, rules: list[tuple[str | None, dict[str, Any]]]) -> bool:
    path = request.url.path
    method = str(request.method.value).upper()
    if path == "/version" or (path.startswith("/apis/") and path.count("/") == 3):
        return True  # discovery and /version: every user may (system:discovery, system:public-info-viewer)
    if request.resource is None or request.resource.plural is None:
        group, plural, namespace, name = "", "namespaces", None, path.rsplit("/", 1)[1]
    else:
        group, plural = request.resource.group or "", request.resource.plural
        namespace, name = request.namespace, request.name
    verb = VERBS.get(method) or ("get" if name else "list")
    for rule_ns, rule in rules:
        if rule_ns is not None and rule_ns != namespace:
            continue
        granted = group in rule["apiGroups"] and plural in rule["resources"] and verb in rule["verbs"]
        if granted and (not rule.get("resourceNames") or name in rule["resourceNames"]):
            return True
    return False


def test_the_chaos_rbac_grants_every_call_the_platform_makes(mesh_cluster: EmulatedCluster) -> None:
    restart_rollout(mesh_cluster, "catalog")
    terminate_pods(service="orders", configuration=CONFIG)
    partition_link(link="inventory->legacy", duration_s=0.1, configuration=CONFIG)
    partition_link(link="orders->payments", duration_s=0.1, configuration={**CONFIG, "chaos_mesh": "false"})
    slow_link(link="inventory->legacy", latency_ms=100, duration_s=0.1, configuration=CONFIG)
    platform = platform_for(CONFIG)
    platform.stop_service("notifications", expires_in_s=30)
    platform.links()
    platform.heal_everything()
    platform.rolling_restart("catalog", timeout_s=10)
    rules = rbac_rules()
    denied = sorted(
        {(str(r.method.value).upper(), r.url.path) for r in mesh_cluster.requests() if not permitted(r, rules)}
    )
    assert denied == []


def test_the_rbac_check_would_catch_a_missing_grant(mesh_cluster: EmulatedCluster) -> None:
    partition_link(link="orders->payments", duration_s=0.1, configuration={**CONFIG, "chaos_mesh": "false"})
    rules = [(ns, r) for ns, r in rbac_rules() if "networkpolicies" not in r["resources"]]
    assert any(not permitted(r, rules) for r in mesh_cluster.requests())


# -- the payment provider, through a real payments service -------------------------------------------


def test_a_provider_fault_goes_through_the_payments_admin_api_and_the_heal_restores_it(
    cluster: EmulatedCluster, tmp_path: Path
) -> None:
    from tests.support.processes import run_service

    with run_service("payments", tmp_path, {"RF_DATA_DIR": str(tmp_path)}) as (payments,):
        requests.put(payments.url + "/admin/provider", json={"latency_ms": 15, "failure_rate": 0.0}, timeout=10)
        config = {**CONFIG, "service_urls": {"payments": payments.url}}
        platform_for(config).set_provider_fault(latency_ms=900, failure_rate=0.5, expires_in_s=30)
        assert platform_for(config).provider_fault() == {"latency_ms": 900, "failure_rate": 0.5}
        assert cluster.calls("POST") == [("POST", f"{NS}/configmaps")]  # the replaced settings, kept
        platform_for(config).clear_provider_fault()  # a fresh instance, as a rollback is
        assert requests.get(payments.url + "/admin/provider", timeout=10).json() == {
            "latency_ms": 15,
            "failure_rate": 0.0,
        }
        assert cluster.names("ConfigMap") == []
        cluster.forget()
        platform_for(config).clear_provider_fault()  # safe with no fault set: changes nothing
        assert cluster.calls("POST", "DELETE") == []
