"""The Kubernetes platform: the same experiments against RetailFlow (or another shop) on a cluster.

chaostoolkit-kubernetes underneath (pod termination, NetworkPolicies, custom objects), with
the safety it lacks: every action needs a label selector, fails when the selector matches
nothing (chaosk8s returns [] and carries on), and acts only in a namespace labelled
`doorbuster.io/chaos=allowed` (kubernetes_cluster.py).

- A partition deletes the link's allow policy (`inventory->legacy` → `inventory-to-legacy`,
  deploy/base/network/), saving it first in a ConfigMap; the heal re-creates it from that same
  spec. With Chaos Mesh in the cluster, a NetworkChaos partition is used instead (`chaos_mesh`).
  Latency is a Chaos Mesh NetworkChaos delay; the heal deletes it (kubernetes_links.py).
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
from collections.abc import Mapping
from typing import Any

import requests
from chaoslib.exceptions import ActivityFailed
from kubernetes import client
from kubernetes.client.rest import ApiException

from chaos.platforms.base import Link, NotSupported, Platform, Pod, RolloutStep
from chaos.platforms.kubernetes_cluster import Cluster, chaosk8s, mapping
from chaos.platforms.kubernetes_links import STORES, LinkFaults
from chaos.platforms.kubernetes_objects import (
    CHAOS_MESH_GROUP,
    CHAOS_MESH_VERSION,
    INJECTED_BY,
    NAME_LABEL,
    NETWORKCHAOS_PLURAL,
    PART_OF,
    PART_OF_LABEL,
)

__all__ = ["STORES", "KubernetesPlatform"]

REPLICAS_ANNOTATION = "doorbuster.io/replicas-before-stop"
PROVIDER_SAVE = "doorbuster-saved-provider"
HTTP_TIMEOUT_S = 10.0
POLL_S = 1.0
APPEAR_TIMEOUT_S = 30.0


def _ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp:
        return False
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


class KubernetesPlatform(Platform):
    name = "kubernetes"

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        super().__init__(configuration)
        self.cluster = Cluster(self.configuration)
        policies = mapping(self.configuration.get("network_policies"), "network_policies")
        self.link_faults = LinkFaults(self.cluster, policies)
        self.service_urls = mapping(self.configuration.get("service_urls"), "service_urls")
        self.namespace = self.cluster.namespace

    def _unsupported(self, what: str, why: str = "") -> NotSupported:
        message = f"{what} is not supported on {self.name}"
        return NotSupported(f"{message}: {why}" if why else message)

    # -- where things are -----------------------------------------------------------------
    def storefront_url(self) -> str:
        return self.service_url("gateway")

    def service_url(self, service: str) -> str:
        """`service_urls[service]`, else the Service's cluster DNS name (reachable from inside)."""
        return self.service_urls.get(service) or f"http://{service}.{self.namespace}.svc.cluster.local:8080"

    def services(self) -> list[str]:
        if self.cluster.selectors:
            return sorted(self.cluster.selectors)
        apps = client.AppsV1Api(self.cluster.api())
        found = self.cluster.call(
            "listing the shop's Deployments",
            lambda: apps.list_namespaced_deployment(self.namespace, label_selector=f"{PART_OF_LABEL}={PART_OF}"),
        ).items
        return sorted({(d.metadata.labels or {}).get(NAME_LABEL) or d.metadata.name for d in found})

    def storage_profile(self) -> str:
        return "services"  # every store of a cluster deployment is networked (deploy/overlays)

    # -- pods -------------------------------------------------------------------------------
    def pods(self, service: str) -> list[Pod]:
        selector = self.cluster.selector(service)
        found = self.cluster.list_pods(selector)
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
        self.cluster.require_allowed()
        selector = self.cluster.selector(pod.service)
        deleted = self.cluster.call(
            f"terminating pod {pod.name}",
            lambda: chaosk8s().pod.actions.terminate_pods(
                label_selector=selector,
                name_pattern=f"^{re.escape(pod.name)}$",
                qty=1,
                grace_period=grace,
                ns=self.namespace,
                secrets=self.cluster.secrets,
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
        self.cluster.require_allowed()
        deployment = self.cluster.deployment(service)
        old = {p.metadata.name for p in self.cluster.list_pods(self.cluster.selector(service))}
        started = time.monotonic()
        chaosk8s().deployment.actions.rollout_deployment(
            name=deployment.metadata.name, ns=self.namespace, secrets=self.cluster.secrets
        )
        apps = client.AppsV1Api(self.cluster.api())
        deadline = started + timeout_s
        while True:
            current = self.cluster.call(
                f"reading Deployment {deployment.metadata.name}",
                lambda: apps.read_namespaced_deployment(deployment.metadata.name, self.namespace),
            )
            pods = self.cluster.list_pods(self.cluster.selector(service))
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
            deployment = self.cluster.deployment(service)
        except ActivityFailed:
            return False
        return REPLICAS_ANNOTATION in (deployment.metadata.annotations or {})

    def stop_service(self, service: str, expires_in_s: float) -> None:
        """Scale the Deployment to 0, keeping its replica count in an annotation for `start_service`.

        An HPA leaves a Deployment at 0 replicas alone. No expiry: only a heal brings it back.
        """
        self.cluster.require_allowed()
        deployment = self.cluster.deployment(service)
        name = deployment.metadata.name
        if REPLICAS_ANNOTATION not in (deployment.metadata.annotations or {}):
            apps = client.AppsV1Api(self.cluster.api())
            body = {"metadata": {"annotations": {REPLICAS_ANNOTATION: str(deployment.spec.replicas or 1)}}}
            self.cluster.call(
                f"annotating Deployment {name}", lambda: apps.patch_namespaced_deployment(name, self.namespace, body)
            )
        chaosk8s().deployment.actions.scale_deployment(
            name=name, replicas=0, ns=self.namespace, secrets=self.cluster.secrets
        )

    def start_service(self, service: str) -> None:
        """Scale back to the count `stop_service` kept, and wait until pods exist again. Safe when running."""
        deployment = self.cluster.deployment(service)
        name = deployment.metadata.name
        kept = (deployment.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
        if kept is None:
            return
        chaosk8s().deployment.actions.scale_deployment(
            name=name, replicas=int(kept), ns=self.namespace, secrets=self.cluster.secrets
        )
        apps = client.AppsV1Api(self.cluster.api())
        body = {"metadata": {"annotations": {REPLICAS_ANNOTATION: None}}}
        self.cluster.call(
            f"annotating Deployment {name}", lambda: apps.patch_namespaced_deployment(name, self.namespace, body)
        )
        deadline = time.monotonic() + APPEAR_TIMEOUT_S
        while not self.cluster.list_pods(self.cluster.selector(service)):
            if time.monotonic() >= deadline:
                raise ActivityFailed(
                    f"{service} was scaled to {kept} but no pod appeared within {APPEAR_TIMEOUT_S:g} s"
                )
            time.sleep(POLL_S)

    # -- links ------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        return self.link_faults.links()

    def cut_link(self, link: str, mode: str, expires_in_s: float) -> None:
        """Partition `link`: a Chaos Mesh NetworkChaos where the cluster has it, else delete its
        allow policy after saving it. Both drop packets: `blackhole` only."""
        if mode != "blackhole":
            raise self._unsupported(
                f"cutting link {link!r} with mode {mode!r}",
                "a NetworkPolicy or NetworkChaos partition drops packets; use mode blackhole",
            )
        self.cluster.require_allowed()
        self.link_faults.policy(link)  # a malformed link name fails here, naming it
        if self.cluster.has_chaos_mesh() and self.link_faults.pod_ends(link):
            self.link_faults.create_network_chaos(link, "partition", expires_in_s)
        else:
            self.link_faults.delete_policy(link)

    def slow_link(self, link: str, latency_ms: int, expires_in_s: float) -> None:
        if not self.cluster.has_chaos_mesh():
            raise self._unsupported(
                f"adding latency to link {link!r} without Chaos Mesh",
                f"the cluster serves no {CHAOS_MESH_GROUP}/{CHAOS_MESH_VERSION} {NETWORKCHAOS_PLURAL}",
            )
        self.cluster.require_allowed()
        self.link_faults.policy(link)
        self.link_faults.create_network_chaos(link, "delay", expires_in_s, latency_ms=latency_ms)

    def heal_link(self, link: str) -> None:
        """Delete this link's NetworkChaos and re-create its saved policy. Safe on a healthy link."""
        self.link_faults.heal(link)

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
        self.cluster.require_allowed()
        core = client.CoreV1Api(self.cluster.api())
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
        core = client.CoreV1Api(self.cluster.api())
        try:
            saved = core.read_namespaced_config_map(PROVIDER_SAVE, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return  # no fault of ours is set
            raise ActivityFailed(f"reading the saved provider settings: {exc.status} {exc.reason}") from None
        self._provider("PUT", json.loads(saved.data["provider.json"]))
        self.cluster.call(
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
        healed = self.link_faults.heal_all()
        apps = client.AppsV1Api(self.cluster.api())
        deployments = self.cluster.call(
            "listing Deployments", lambda: apps.list_namespaced_deployment(self.namespace)
        ).items
        for deployment in deployments:
            kept = (deployment.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
            if kept is not None:
                service = (deployment.metadata.labels or {}).get(NAME_LABEL) or deployment.metadata.name
                self.start_service(service)
                healed.append(f"scaled Deployment {deployment.metadata.name} back to {kept}")
        core = client.CoreV1Api(self.cluster.api())
        try:
            core.read_namespaced_config_map(PROVIDER_SAVE, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise ActivityFailed(f"reading the saved provider settings: {exc.status} {exc.reason}") from None
        else:
            self.clear_provider_fault()
            healed.append("payment provider settings restored")
        return healed
