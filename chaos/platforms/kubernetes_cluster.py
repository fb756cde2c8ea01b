"""One shop's namespace on a cluster, as the Kubernetes platform reaches it: where, by which
selectors, with which credentials, and the safety checks every action goes through."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed
from kubernetes import client
from kubernetes.client.rest import ApiException

from chaos.platforms.kubernetes_objects import (
    CHAOS_ALLOWED,
    CHAOS_MESH_GROUP,
    CHAOS_MESH_VERSION,
    DEFAULT_LABEL_SELECTOR,
    DEFAULT_NAMESPACE,
    NETWORKCHAOS_PLURAL,
)

__all__ = ["Cluster", "chaosk8s"]

T = TypeVar("T")


def chaosk8s() -> Any:
    """chaostoolkit-kubernetes, imported when first used: the local platform never needs it."""
    import chaosk8s as k8s
    import chaosk8s.crd.actions
    import chaosk8s.deployment.actions
    import chaosk8s.networking.actions
    import chaosk8s.pod.actions

    return k8s


def mapping(raw: Any, key: str) -> dict[str, str]:
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


class Cluster:
    """The shop's namespace, read from the experiment's configuration."""

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        self.namespace = str(configuration.get("namespace") or DEFAULT_NAMESPACE)
        template = configuration.get("label_selector")
        self.label_selector = DEFAULT_LABEL_SELECTOR if template is None else str(template)
        self.selectors = mapping(configuration.get("selectors"), "selectors")
        chaos_mesh = str(configuration.get("chaos_mesh", "auto")).strip().lower()
        if chaos_mesh not in ("auto", "true", "false"):
            raise ActivityFailed(f"configuration chaos_mesh must be auto, true or false, got {chaos_mesh!r}")
        self.chaos_mesh = chaos_mesh
        context = str(configuration.get("kubernetes_context") or "")
        # chaosk8s looks a key up in `secrets` before the environment (KUBERNETES_CONTEXT, ...).
        self.secrets: dict[str, str] | None = {"KUBERNETES_CONTEXT": context} if context else None
        self._allowed = False
        self._has_chaos_mesh: bool | None = None

    def api(self) -> client.ApiClient:
        return chaosk8s().create_k8s_api_client(self.secrets)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """`fn()`, with an API error turned into an ActivityFailed that says what was being done."""
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

    def require_allowed(self) -> None:
        """Refuse to act unless the namespace carries doorbuster.io/chaos=allowed."""
        if self._allowed:
            return
        core = client.CoreV1Api(self.api())
        namespace = self.call("reading the namespace", lambda: core.read_namespace(self.namespace))
        labels = namespace.metadata.labels or {}
        if labels.get(CHAOS_ALLOWED[0]) != CHAOS_ALLOWED[1]:
            raise ActivityFailed(
                f"namespace {self.namespace!r} is not labelled {CHAOS_ALLOWED[0]}={CHAOS_ALLOWED[1]}: "
                "refusing to act there (label it to allow chaos experiments)"
            )
        self._allowed = True

    def list_pods(self, selector: str) -> list[Any]:
        core = client.CoreV1Api(self.api())
        found = self.call(
            f"listing pods labelled {selector!r}",
            lambda: core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        return sorted(found.items, key=lambda p: p.metadata.name)

    def deployment(self, service: str) -> Any:
        """The one Deployment the service's selector matches."""
        selector = self.selector(service)
        apps = client.AppsV1Api(self.api())
        found = self.call(
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

    def has_chaos_mesh(self) -> bool:
        """`chaos_mesh: true|false`, or (auto) whether the cluster serves NetworkChaos."""
        if self.chaos_mesh != "auto":
            return self.chaos_mesh == "true"
        if self._has_chaos_mesh is None:
            custom = client.CustomObjectsApi(self.api())
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
