"""The Kubernetes platform: the same experiments against RetailFlow (or another shop) on a cluster.

chaostoolkit-kubernetes underneath (pod termination, NetworkPolicies, custom objects), with
the safety it lacks: every action needs a label selector, fails when the selector matches
nothing (chaosk8s returns [] and carries on), and acts only in a namespace labelled
`doorbuster.io/chaos=allowed`.

- A partition deletes the link's allow policy (`inventory->legacy` → `inventory-to-legacy`,
  deploy/base/network/), saving it first in a ConfigMap; the heal re-creates it from that same
  spec. With Chaos Mesh in the cluster, a NetworkChaos partition is used instead (`chaos_mesh`).
- Latency is a Chaos Mesh NetworkChaos delay; the heal deletes it.
- A stopped service is its Deployment scaled to 0 (the replica count is kept in an annotation).
- Everything the platform injects carries labels, so `heal_everything` finds it from any process.

Configuration (the experiment's, see chaos/README.md): `namespace`, `label_selector` (with
`{service}`), `selectors` (per service, for another shop's labels), `chaos_mesh`
(`auto` | `true` | `false`), `network_policies` (link → policy name), `service_urls`,
`kubernetes_context`, `db_url` and `legacy_db_url` (the audit reads the stores).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from chaoslib.exceptions import ActivityFailed
from kubernetes import client
from kubernetes.client.rest import ApiException

from chaos.platforms.base import Link, NotSupported, Platform, Pod, RolloutStep
from chaos.platforms.kubernetes_objects import (
    CHAOS_ALLOWED,
    CHAOS_MESH_GROUP,
    CHAOS_MESH_VERSION,
    DEFAULT_LABEL_SELECTOR,
    DEFAULT_NAMESPACE,
    INJECTED_BY,
    LINK_LABEL,
    NAME_LABEL,
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

__all__ = ["KubernetesPlatform"]

T = TypeVar("T")
STORES = ("postgres", "mariadb", "redis", "bus")
REPLICAS_ANNOTATION = "doorbuster.io/replicas-before-stop"
PROVIDER_SAVE = "doorbuster-saved-provider"
HEALTHY_PROVIDER = {"latency_ms": 0, "failure_rate": 0.0}
HTTP_TIMEOUT_S = 10.0
POLL_S = 1.0
APPEAR_TIMEOUT_S = 30.0


def _k8s() -> Any:
    """chaosk8s, imported when first used: the local platform never needs it."""
    import chaosk8s
    import chaosk8s.crd.actions
    import chaosk8s.deployment.actions
    import chaosk8s.networking.actions
    import chaosk8s.pod.actions

    return chaosk8s


def _mapping(raw: Any, key: str) -> dict[str, str]:
    """A configuration mapping, given as a mapping or as JSON text (`--var selectors='{...}'`)."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ActivityFailed(f"configuration {key} must be a mapping or JSON object, got {raw!r}") from None
    if not isinstance(raw, Mapping):
        raise ActivityFailed(f"configuration {key} must be a mapping, got {type(raw).__name__}")
    return {str(k): str(v) for k, v in raw.items()}


def _ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp:
        return False
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


class KubernetesPlatform(Platform):
    name = "kubernetes"

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        super().__init__(configuration)
        conf = self.configuration
        self.namespace = str(conf.get("namespace") or DEFAULT_NAMESPACE)
        template = conf.get("label_selector")
        self.label_selector = DEFAULT_LABEL_SELECTOR if template is None else str(template)
        self.selectors = _mapping(conf.get("selectors"), "selectors")
        self.policy_names = _mapping(conf.get("network_policies"), "network_policies")
        self.service_urls = _mapping(conf.get("service_urls"), "service_urls")
        chaos_mesh = str(conf.get("chaos_mesh", "auto")).strip().lower()
        if chaos_mesh not in ("auto", "true", "false"):
            raise ActivityFailed(f"configuration chaos_mesh must be auto, true or false, got {chaos_mesh!r}")
        self.chaos_mesh = chaos_mesh
        context = str(conf.get("kubernetes_context") or "")
        # chaosk8s looks a key up in `secrets` before the environment (KUBERNETES_CONTEXT, ...).
        self.secrets: dict[str, str] | None = {"KUBERNETES_CONTEXT": context} if context else None
        self._allowed = False
        self._has_chaos_mesh: bool | None = None

    # -- plumbing -----------------------------------------------------------------------------
    def _unsupported(self, what: str, why: str = "") -> NotSupported:
        message = f"{what} is not supported on {self.name}"
        return NotSupported(f"{message}: {why}" if why else message)

    def _api(self) -> client.ApiClient:
        return _k8s().create_k8s_api_client(self.secrets)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ApiException as exc:
            reason = exc.reason or ""
            try:
                reason = json.loads(exc.body or "{}").get("message") or reason
            except (ValueError, AttributeError):
                pass
            raise ActivityFailed(f"{what} in namespace {self.namespace!r}: {exc.status} {reason}") from None

    def selector(self, service: str) -> str:
        """The label selector of `service`'s pods; never empty (that would be every pod)."""
        if service in self.selectors:
            chosen, origin = self.selectors[service], f"selectors[{service!r}]"
        else:
            chosen, origin = self.label_selector.replace("{service}", service), "label_selector"
        if not chosen.strip():
            raise ActivityFailed(
                f"no label selector for service {service!r} (configuration {origin} is empty): "
                f"refusing to act on every pod of namespace {self.namespace!r}"
            )
        return chosen.strip()

    def _end_labels(self, end: str) -> dict[str, str]:
        """The labels of one end of a link: a service's selector, or a store's role label."""
        if end in STORES and end not in self.selectors:
            return {STORE_LABEL: end, PART_OF_LABEL: PART_OF}
        try:
            return selector_labels(self.selector(end))
        except ValueError as exc:
            raise ActivityFailed(f"Chaos Mesh needs equality selectors: {exc}") from None

    def _require_allowed(self) -> None:
        if self._allowed:
            return
        core = client.CoreV1Api(self._api())
        namespace = self._call("reading the namespace", lambda: core.read_namespace(self.namespace))
        labels = namespace.metadata.labels or {}
        if labels.get(CHAOS_ALLOWED[0]) != CHAOS_ALLOWED[1]:
            raise ActivityFailed(
                f"namespace {self.namespace!r} is not labelled {CHAOS_ALLOWED[0]}={CHAOS_ALLOWED[1]}: "
                "refusing to act there (label it to allow chaos experiments)"
            )
        self._allowed = True

    def _list_pods(self, selector: str) -> list[Any]:
        core = client.CoreV1Api(self._api())
        found = self._call(
            f"listing pods labelled {selector!r}",
            lambda: core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        return sorted(found.items, key=lambda p: p.metadata.name)

    def _deployment(self, service: str) -> Any:
        selector = self.selector(service)
        apps = client.AppsV1Api(self._api())
        found = self._call(
            f"finding the Deployment of {service}",
            lambda: apps.list_namespaced_deployment(self.namespace, label_selector=selector),
        ).items
        if len(found) != 1:
            names = ", ".join(d.metadata.name for d in found) or "none"
            raise ActivityFailed(
                f"service {service!r}: selector {selector!r} must match exactly one Deployment in namespace "
                f"{self.namespace!r}, it matches {names}"
            )
        return found[0]

    # -- where things are -----------------------------------------------------------------
    def storefront_url(self) -> str:
        return self.service_url("gateway")

    def service_url(self, service: str) -> str:
        """`service_urls[service]`, else the Service's cluster DNS name (reachable from inside)."""
        return self.service_urls.get(service) or f"http://{service}.{self.namespace}.svc.cluster.local:8080"

    def services(self) -> list[str]:
        if self.selectors:
            return sorted(self.selectors)
        apps = client.AppsV1Api(self._api())
        found = self._call(
            "listing the shop's Deployments",
            lambda: apps.list_namespaced_deployment(self.namespace, label_selector=f"{PART_OF_LABEL}={PART_OF}"),
        ).items
        return sorted({(d.metadata.labels or {}).get(NAME_LABEL) or d.metadata.name for d in found})

    def storage_profile(self) -> str:
        return "services"  # every store of a cluster deployment is networked (deploy/overlays)

    # -- pods -------------------------------------------------------------------------------
    def pods(self, service: str) -> list[Pod]:
        selector = self.selector(service)
        found = self._list_pods(selector)
        if not found and not self._stopped_by_us(service):
            raise ActivityFailed(f"selector {selector!r} matches no pod in namespace {self.namespace!r}")
        return [
            Pod(
                service=service,
                name=p.metadata.name,
                ready=_ready(p),
                restarts=sum(s.restart_count for s in (p.status and p.status.container_statuses) or []),
                started_at=p.status.start_time.timestamp() if p.status and p.status.start_time else None,
            )
            for p in found
        ]

    def terminate_pod(self, pod: Pod, signal: str = "SIGKILL", grace_period_s: float | None = None) -> None:
        """Delete the pod through chaosk8s' terminate_pods, by its service's selector and its exact name.

        SIGKILL is a deletion with a zero grace period; SIGTERM one with `grace_period_s` (the
        pod's own when None). Kubernetes sends no other signal on a deletion.
        """
        name = str(signal).upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        if name == "SIGKILL":
            grace = 0
        elif name == "SIGTERM":
            grace = -1 if grace_period_s is None or grace_period_s < 0 else math.ceil(grace_period_s)
        else:
            raise self._unsupported(f"sending {name} to pod {pod.name}", "a pod deletion sends SIGTERM, then SIGKILL")
        self._require_allowed()
        selector = self.selector(pod.service)
        deleted = self._call(
            f"terminating pod {pod.name}",
            lambda: _k8s().pod.actions.terminate_pods(
                label_selector=selector,
                name_pattern=f"^{re.escape(pod.name)}$",
                qty=1,
                grace_period=grace,
                ns=self.namespace,
                secrets=self.secrets,
            ),
        )
        if deleted != [pod.name]:
            raise ActivityFailed(
                f"selector {selector!r} matches no pod named {pod.name!r} in namespace {self.namespace!r}: "
                f"nothing was terminated (deleted: {deleted})"
            )

    # -- services ---------------------------------------------------------------------------
    def rolling_restart(self, service: str, timeout_s: float) -> list[RolloutStep]:
        """`kubectl rollout restart` (chaosk8s rollout_deployment), then wait for the rollout."""
        self._require_allowed()
        deployment = self._deployment(service)
        old = {p.metadata.name for p in self._list_pods(self.selector(service))}
        started = time.monotonic()
        _k8s().deployment.actions.rollout_deployment(
            name=deployment.metadata.name, ns=self.namespace, secrets=self.secrets
        )
        apps = client.AppsV1Api(self._api())
        deadline = started + timeout_s
        while True:
            current = self._call(
                f"reading Deployment {deployment.metadata.name}",
                lambda: apps.read_namespaced_deployment(deployment.metadata.name, self.namespace),
            )
            pods = self._list_pods(self.selector(service))
            want = current.spec.replicas or 0
            status = current.status or client.V1DeploymentStatus()
            done = (
                (status.observed_generation or 0) >= (current.metadata.generation or 0)
                and (status.updated_replicas or 0) == want
                and (status.ready_replicas or 0) == want
                and not old & {p.metadata.name for p in pods}
            )
            if done:
                break
            if time.monotonic() >= deadline:
                raise ActivityFailed(
                    f"the rolling restart of {service} did not finish within {timeout_s:g} s "
                    f"({status.updated_replicas or 0}/{want} updated, {status.ready_replicas or 0} ready)"
                )
            time.sleep(POLL_S)
        seconds = round(time.monotonic() - started, 3)
        new = sorted(p.metadata.name for p in pods)
        return [
            RolloutStep(old=o, new=n, seconds=round(seconds / max(1, len(new)), 3))
            for o, n in zip(sorted(old), new, strict=False)
        ]

    def _stopped_by_us(self, service: str) -> bool:
        try:
            deployment = self._deployment(service)
        except ActivityFailed:
            return False
        return REPLICAS_ANNOTATION in (deployment.metadata.annotations or {})

    def stop_service(self, service: str, expires_in_s: float) -> None:
        """Scale the Deployment to 0, keeping its replica count in an annotation for `start_service`.

        An HPA leaves a Deployment at 0 replicas alone. No expiry: only a heal brings it back.
        """
        self._require_allowed()
        deployment = self._deployment(service)
        name = deployment.metadata.name
        if REPLICAS_ANNOTATION not in (deployment.metadata.annotations or {}):
            apps = client.AppsV1Api(self._api())
            body = {"metadata": {"annotations": {REPLICAS_ANNOTATION: str(deployment.spec.replicas or 1)}}}
            self._call(
                f"annotating Deployment {name}", lambda: apps.patch_namespaced_deployment(name, self.namespace, body)
            )
        _k8s().deployment.actions.scale_deployment(name=name, replicas=0, ns=self.namespace, secrets=self.secrets)

    def start_service(self, service: str) -> None:
        """Scale back to the count `stop_service` kept, and wait until pods exist again. Safe when running."""
        deployment = self._deployment(service)
        name = deployment.metadata.name
        kept = (deployment.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
        if kept is None:
            return
        _k8s().deployment.actions.scale_deployment(
            name=name, replicas=int(kept), ns=self.namespace, secrets=self.secrets
        )
        apps = client.AppsV1Api(self._api())
        body = {"metadata": {"annotations": {REPLICAS_ANNOTATION: None}}}
        self._call(
            f"annotating Deployment {name}", lambda: apps.patch_namespaced_deployment(name, self.namespace, body)
        )
        deadline = time.monotonic() + APPEAR_TIMEOUT_S
        while not self._list_pods(self.selector(service)):
            if time.monotonic() >= deadline:
                raise ActivityFailed(
                    f"{service} was scaled to {kept} but no pod appeared within {APPEAR_TIMEOUT_S:g} s"
                )
            time.sleep(POLL_S)

    # -- links ------------------------------------------------------------------------------
    def _policy(self, link: str) -> str:
        if link in self.policy_names:
            return self.policy_names[link]
        try:
            return policy_name(link)
        except ValueError as exc:
            raise ActivityFailed(str(exc)) from None

    def _chaos_mesh_available(self) -> bool:
        if self.chaos_mesh != "auto":
            return self.chaos_mesh == "true"
        if self._has_chaos_mesh is None:
            custom = client.CustomObjectsApi(self._api())
            try:
                # Raw JSON: the generated model refuses a discovery answer that lacks optional fields.
                raw = custom.get_api_resources(CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, _preload_content=False)
                served = json.loads(raw.data or b"{}").get("resources") or []
            except ApiException as exc:
                if exc.status != 404:
                    raise ActivityFailed(f"asking the cluster for Chaos Mesh: {exc.status} {exc.reason}") from None
                served = []
            self._has_chaos_mesh = any(r.get("name") == NETWORKCHAOS_PLURAL for r in served)
        return self._has_chaos_mesh

    def _both_ends_are_pods(self, link: str) -> tuple[dict[str, str], dict[str, str]] | None:
        src, _, dst = link.partition("->")
        ends = (self._end_labels(src), self._end_labels(dst))
        for labels in ends:
            selector = ",".join(f"{k}={v}" for k, v in labels.items())
            if not self._list_pods(selector):
                return None
        return ends

    def _network_chaos(self, link: str, action: str, expires_in_s: float, latency_ms: int | None = None) -> None:
        ends = self._both_ends_are_pods(link)
        if ends is None:
            raise ActivityFailed(
                f"link {link!r}: Chaos Mesh acts between pods, and one end has no pod in namespace "
                f"{self.namespace!r} (a store outside the cluster?)"
            )
        body = network_chaos(
            link=link, namespace=self.namespace, source=ends[0], target=ends[1], action=action,
            duration_s=expires_in_s, latency_ms=latency_ms,
        )  # fmt: skip
        _k8s().crd.actions.create_custom_object(
            CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, NETWORKCHAOS_PLURAL, self.namespace, resource=body,
            secrets=self.secrets,
        )  # fmt: skip

    def links(self) -> list[Link]:
        net = client.NetworkingV1Api(self._api())
        policies = self._call("listing NetworkPolicies", lambda: net.list_namespaced_network_policy(self.namespace))
        found: dict[str, Link] = {}
        for policy in policies.items:
            flow = (policy.metadata.annotations or {}).get("doorbuster.io/flow")
            if flow:
                found[flow] = Link(flow, "ok")
        for saved in self._saved_policies():
            flow = (saved.metadata.annotations or {}).get("doorbuster.io/flow")
            if flow:
                found[flow] = Link(flow, "blackhole")
        for chaos in self._our_network_chaos():
            flow = chaos["metadata"].get("annotations", {}).get("doorbuster.io/flow")
            if not flow:
                continue
            if chaos["spec"]["action"] == "partition":
                found[flow] = Link(flow, "blackhole")
            else:
                latency = int(str(chaos["spec"].get("delay", {}).get("latency", "0ms")).removesuffix("ms") or 0)
                found[flow] = Link(flow, found.get(flow, Link(flow, "ok")).state, latency_ms=latency)
        return [found[name] for name in sorted(found)]

    def cut_link(self, link: str, mode: str, expires_in_s: float) -> None:
        """Partition `link`: a Chaos Mesh NetworkChaos where the cluster has it, else delete its
        allow policy after saving it. Both drop packets: `blackhole` only."""
        if mode != "blackhole":
            raise self._unsupported(
                f"cutting link {link!r} with mode {mode!r}",
                "a NetworkPolicy or NetworkChaos partition drops packets; use mode blackhole",
            )
        self._require_allowed()
        policy = self._policy(link)
        if self._chaos_mesh_available() and self._both_ends_are_pods(link):
            self._network_chaos(link, "partition", expires_in_s)
            return
        net = client.NetworkingV1Api(self._api())
        current = self._call(
            f"reading NetworkPolicy {policy!r} of link {link!r} (is deploy/ applied?)",
            lambda: net.read_namespaced_network_policy(policy, self.namespace),
        )
        core = client.CoreV1Api(self._api())
        save = saved_policy(self._api().sanitize_for_serialization(current), link)
        try:
            core.create_namespaced_config_map(self.namespace, save)
        except ApiException as exc:
            if exc.status != 409:  # 409: saved by an earlier cut that was never healed: keep the original
                raise ActivityFailed(
                    f"saving NetworkPolicy {policy!r} before the cut: {exc.status} {exc.reason}"
                ) from None
        self._call(
            f"deleting NetworkPolicy {policy!r}",
            lambda: _k8s().networking.actions.remove_network_policy(policy, ns=self.namespace, secrets=self.secrets),
        )

    def slow_link(self, link: str, latency_ms: int, expires_in_s: float) -> None:
        if not self._chaos_mesh_available():
            raise self._unsupported(
                f"adding latency to link {link!r} without Chaos Mesh",
                f"the cluster serves no {CHAOS_MESH_GROUP}/{CHAOS_MESH_VERSION} {NETWORKCHAOS_PLURAL}",
            )
        self._require_allowed()
        self._policy(link)  # a malformed link name fails here, naming it
        self._network_chaos(link, "delay", expires_in_s, latency_ms=latency_ms)

    def _saved_policies(self, policy: str | None = None) -> list[Any]:
        core = client.CoreV1Api(self._api())
        selector = f"{SAVED_POLICY_LABEL}={policy}" if policy else SAVED_POLICY_LABEL
        return list(
            self._call(
                "listing saved NetworkPolicies",
                lambda: core.list_namespaced_config_map(self.namespace, label_selector=selector),
            ).items
        )

    def _our_network_chaos(self, policy: str | None = None) -> list[dict[str, Any]]:
        if not self._chaos_mesh_available():
            return []
        custom = client.CustomObjectsApi(self._api())
        selector = f"{LINK_LABEL}={policy}" if policy else f"{INJECTED_BY[0]}={INJECTED_BY[1]}"
        found = self._call(
            "listing NetworkChaos",
            lambda: custom.list_namespaced_custom_object(
                CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, self.namespace, NETWORKCHAOS_PLURAL, label_selector=selector
            ),
        )
        return list(found.get("items") or [])

    def _restore(self, saved: Any) -> str:
        body = json.loads(saved.data[SAVED_POLICY_KEY])
        name = body["metadata"]["name"]
        net = client.NetworkingV1Api(self._api())
        try:
            net.create_namespaced_network_policy(self.namespace, body)
        except ApiException as exc:
            if exc.status != 409:  # 409: it is back already (a heal ran twice): nothing to restore
                raise ActivityFailed(f"re-creating NetworkPolicy {name!r}: {exc.status} {exc.reason}") from None
        core = client.CoreV1Api(self._api())
        self._call(
            f"deleting the saved copy of {name!r}",
            lambda: core.delete_namespaced_config_map(saved.metadata.name, self.namespace),
        )
        return name

    def heal_link(self, link: str) -> None:
        """Delete this link's NetworkChaos and re-create its saved policy. Safe on a healthy link."""
        policy = self._policy(link)
        for chaos in self._our_network_chaos(policy):
            _k8s().crd.actions.delete_custom_object(
                CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, NETWORKCHAOS_PLURAL, chaos["metadata"]["name"],
                ns=self.namespace, secrets=self.secrets,
            )  # fmt: skip
        for saved in self._saved_policies(policy):
            self._restore(saved)

    # -- the payment provider -----------------------------------------------------------------
    def _provider(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.service_url('payments').rstrip('/')}/admin/provider"
        try:
            answer = requests.request(method, url, json=body, timeout=HTTP_TIMEOUT_S)
            answer.raise_for_status()
            return dict(answer.json())
        except (requests.RequestException, ValueError) as exc:
            raise ActivityFailed(
                f"{method} {url}: {exc} (the payments service must be reachable: run inside the cluster, "
                "or port-forward it and set configuration service_urls)"
            ) from None

    def provider_fault(self) -> dict[str, Any]:
        return self._provider("GET")

    def set_provider_fault(self, latency_ms: int, failure_rate: float, expires_in_s: float) -> None:
        """Through the payments service's admin API (one setting for every replica); the settings
        it replaces are kept in a ConfigMap for `clear_provider_fault`."""
        self._require_allowed()
        core = client.CoreV1Api(self._api())
        baseline = self._provider("GET")
        save = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": PROVIDER_SAVE, "labels": {INJECTED_BY[0]: INJECTED_BY[1]}},
            "data": {"provider.json": json.dumps(baseline)},
        }
        try:
            core.create_namespaced_config_map(self.namespace, save)
        except ApiException as exc:
            if exc.status != 409:
                raise ActivityFailed(f"saving the provider settings: {exc.status} {exc.reason}") from None
        self._provider("PUT", {"latency_ms": int(latency_ms), "failure_rate": float(failure_rate)})

    def clear_provider_fault(self) -> None:
        core = client.CoreV1Api(self._api())
        try:
            saved = core.read_namespaced_config_map(PROVIDER_SAVE, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return  # no fault of ours is set
            raise ActivityFailed(f"reading the saved provider settings: {exc.status} {exc.reason}") from None
        self._provider("PUT", json.loads(saved.data["provider.json"]))
        self._call(
            "deleting the saved provider settings",
            lambda: core.delete_namespaced_config_map(PROVIDER_SAVE, self.namespace),
        )

    # -- integrity ----------------------------------------------------------------------------
    def audit(self, ledger: list[dict[str, Any]], timeout_s: float) -> dict[str, Any]:
        """The audit reads the stores directly: `db_url`/`legacy_db_url` (or RF_DB_URL/RF_LEGACY_DB_URL)
        must reach them from here, e.g. through `kubectl port-forward`."""
        env = {
            "RF_DB_URL": str(self.configuration.get("db_url") or os.environ.get("RF_DB_URL") or ""),
            "RF_LEGACY_DB_URL": str(
                self.configuration.get("legacy_db_url") or os.environ.get("RF_LEGACY_DB_URL") or ""
            ),
        }
        if not all(env.values()):
            raise ActivityFailed(
                "the integrity audit on kubernetes reads the shop's stores directly: set configuration db_url and "
                "legacy_db_url (or RF_DB_URL and RF_LEGACY_DB_URL) to URLs that reach them from here, e.g. through "
                "kubectl port-forward"
            )
        from retailflow.audit import LedgerError, StoreUnreachable, run_audit
        from retailflow.common.config import ServiceConfig

        try:
            return dict(run_audit(ServiceConfig.from_env("gateway", env), ledger))
        except (LedgerError, StoreUnreachable) as exc:
            raise ActivityFailed(f"the integrity audit: {exc}") from None

    # -- the runner's safety net ----------------------------------------------------------------
    def heal_everything(self) -> list[str]:
        healed = []
        for saved in self._saved_policies():
            healed.append(f"re-created NetworkPolicy {self._restore(saved)}")
        for chaos in self._our_network_chaos():
            _k8s().crd.actions.delete_custom_object(
                CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, NETWORKCHAOS_PLURAL, chaos["metadata"]["name"],
                ns=self.namespace, secrets=self.secrets,
            )  # fmt: skip
            healed.append(f"deleted NetworkChaos {chaos['metadata']['name']}")
        apps = client.AppsV1Api(self._api())
        deployments = self._call("listing Deployments", lambda: apps.list_namespaced_deployment(self.namespace)).items
        for deployment in deployments:
            kept = (deployment.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
            if kept is not None:
                service = (deployment.metadata.labels or {}).get(NAME_LABEL) or deployment.metadata.name
                self.start_service(service)
                healed.append(f"scaled Deployment {deployment.metadata.name} back to {kept}")
        core = client.CoreV1Api(self._api())
        try:
            core.read_namespaced_config_map(PROVIDER_SAVE, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise ActivityFailed(f"reading the saved provider settings: {exc.status} {exc.reason}") from None
        else:
            self.clear_provider_fault()
            healed.append("payment provider settings restored")
        return healed
