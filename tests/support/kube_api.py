"""An emulated Kubernetes API server for the chaos platform's tests: kmock, in-process.

kmock's KubernetesEmulator keeps objects in memory and records every request, but its list
ignores `labelSelector`; the handler below applies it (equality and set-based selectors), so a
client that trusts the server's filtering is tested as it would run against a real one.
"""

from __future__ import annotations

import asyncio
import copy
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml
from kmock._internal.apps import Server

from tests.support.manifests import objects
from tests.support.netpol import matches

__all__ = ["Call", "EmulatedCluster", "emulated_cluster", "parse_selector", "seed"]

# kind -> (group, version, plural, namespaced)
RESOURCES = {
    "Namespace": ("", "v1", "namespaces", False),
    "Pod": ("", "v1", "pods", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "NetworkChaos": ("chaos-mesh.org", "v1alpha1", "networkchaos", True),
}
NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces/[^/]+$")
Call = tuple[str, str]  # ("DELETE", "/api/v1/namespaces/retailflow/pods/catalog-1")


def parse_selector(text: str) -> dict[str, Any]:
    """A label selector string (`a=b,c!=d,e in (x,y),!f`) as a LabelSelector mapping."""
    labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for part in re.findall(r"[^,(]+(?:\([^)]*\))?", text):
        part = part.strip()
        if not part:
            continue
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part):
            values = [v.strip() for v in m[3].split(",") if v.strip()]
            expressions.append({"key": m[1], "operator": "In" if m[2] == "in" else "NotIn", "values": values})
        elif m := re.fullmatch(r"([\w./-]+)\s*!=\s*(\S*)", part):
            expressions.append({"key": m[1], "operator": "NotIn", "values": [m[2]]})
        elif m := re.fullmatch(r"([\w./-]+)\s*==?\s*(\S*)", part):
            labels[m[1]] = m[2]
        elif m := re.fullmatch(r"!\s*([\w./-]+)", part):
            expressions.append({"key": m[1], "operator": "DoesNotExist"})
        elif re.fullmatch(r"[\w./-]+", part):
            expressions.append({"key": part, "operator": "Exists"})
        else:
            raise ValueError(f"cannot parse label selector part {part!r}")
    return {"matchLabels": labels, "matchExpressions": expressions}


class EmulatedCluster:
    """A started emulator: seed objects with `add`, read what the client did with `calls`."""

    def __init__(self, *, chaos_mesh: bool) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kmock", daemon=True)
        self.chaos_mesh = chaos_mesh
        self.emulator: Any = None
        self.server: Any = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> EmulatedCluster:
        self.thread.start()

        async def start() -> None:
            self.emulator = kmock.KubernetesEmulator()
            await self.emulator.__aenter__()
            self.server = Server(self.emulator)
            await self.server.__aenter__()

        self._run(start())
        for kind, (group, version, plural, namespaced) in RESOURCES.items():
            if kind == "NetworkChaos" and not self.chaos_mesh:
                continue  # a cluster without Chaos Mesh does not serve the group at all
            self.emulator.resources[kmock.resource(group, version, plural)] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, verbs={"list", "get", "create", "delete", "patch", "watch"}
            )
            self.emulator["list", kmock.resource(group, version, plural)] << self._filtered_list
        # kmock parses GET /api/v1/namespaces/NAME as a list of namespace NAME: serve the object.
        self.emulator["get", NAMESPACE_PATH] << self._namespace
        return self

    def stop(self) -> None:
        async def stop() -> None:
            await self.server.__aexit__(None, None, None)
            await self.emulator.__aexit__(None, None, None)

        self._run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    @property
    def url(self) -> str:
        return str(self.server.url).rstrip("/")

    def _filtered_list(self, request: Any) -> Any:
        selector = parse_selector(request.params.get("labelSelector", ""))
        items = [
            obj.raw
            for (resource, namespace, _), obj in self.emulator.objects.items()
            if resource == request.resource
            and not obj.deleted
            and (request.namespace is None or namespace == request.namespace)
            and matches(selector, (obj.raw.get("metadata") or {}).get("labels") or {})
        ]
        return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}

    def _namespace(self, request: Any) -> Any:
        found = self.get("Namespace", request.url.path.rsplit("/", 1)[1], namespace=None)
        if found is None:
            return kmock.KubernetesObjectNotFoundError()
        return found

    def add(self, obj: Mapping[str, Any]) -> None:
        group, version, plural, namespaced = RESOURCES[obj["kind"]]
        namespace = obj["metadata"].get("namespace") if namespaced else None
        self.emulator.objects[kmock.resource(group, version, plural), namespace, obj["metadata"]["name"]] = dict(obj)

    def get(self, kind: str, name: str, namespace: str | None = "retailflow") -> dict[str, Any] | None:
        group, version, plural, namespaced = RESOURCES[kind]
        key = (kmock.resource(group, version, plural), namespace if namespaced else None, name)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            return None
        return dict(self.emulator.objects[key].raw)

    def names(self, kind: str, namespace: str = "retailflow") -> list[str]:
        group, version, plural, _ = RESOURCES[kind]
        wanted = kmock.resource(group, version, plural)
        return sorted(
            name
            for (resource, ns, name), obj in self.emulator.objects.items()
            if resource == wanted and ns == namespace and not obj.deleted
        )

    def requests(self) -> list[Any]:
        return list(self.emulator)

    def calls(self, *methods: str) -> list[Call]:
        """The requests made, as (METHOD, path), limited to `methods` when given."""
        wanted = {m.upper() for m in methods}
        found = [(str(r.method.value).upper(), r.url.path) for r in self.requests()]
        return [c for c in found if not wanted or c[0] in wanted]

    def bodies(self, method: str, path: str) -> list[Any]:
        return [r.data for r in self.requests() if str(r.method.value).upper() == method and r.url.path == path]

    def forget(self) -> None:
        """Start counting requests from here (the seeding and checks before the action are not asserted)."""
        self.emulator._requests.clear()

    def use_kubeconfig(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point chaosk8s at this server. It uses a kubeconfig whenever one exists (one wins over
        KUBERNETES_HOST), found through $KUBECONFIG, but then loads the path the kubernetes package
        read from $KUBECONFIG when it was first imported: both must change."""
        from kubernetes.config import kube_config

        self.write_kubeconfig(path)
        monkeypatch.setenv("KUBECONFIG", str(path))
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))

    def write_kubeconfig(self, path: Path) -> Path:
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emulated", "cluster": {"server": self.url}}],
                    "users": [{"name": "tester", "user": {"token": "test-token"}}],
                    "contexts": [{"name": "emulated", "context": {"cluster": "emulated", "user": "tester"}}],
                    "current-context": "emulated",
                }
            )
        )
        return path


@contextmanager
def emulated_cluster(*, chaos_mesh: bool = False) -> Iterator[EmulatedCluster]:
    cluster = EmulatedCluster(chaos_mesh=chaos_mesh).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def seed(cluster: EmulatedCluster, *, allowed: bool = True) -> None:
    """The in-cluster overlay as applied: its namespace, Deployments and NetworkPolicies, and
    ready pods made from the pod templates (`<deployment>-5d8f9c-<i>`, `<statefulset>-<i>`)."""
    for obj in objects("in-cluster"):
        kind = obj["kind"]
        if kind == "Namespace":
            obj = copy.deepcopy(obj)
            if not allowed:
                del obj["metadata"]["labels"]["doorbuster.io/chaos"]
            cluster.add(obj)
        elif kind in ("Deployment", "NetworkPolicy"):
            cluster.add(obj)
        if kind in ("Deployment", "StatefulSet"):
            name = obj["metadata"]["name"]
            for i in range(obj["spec"]["replicas"]):
                pod_name = f"{name}-{i}" if kind == "StatefulSet" else f"{name}-5d8f9c-{i}"
                cluster.add(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": pod_name,
                            "namespace": "retailflow",
                            "labels": obj["spec"]["template"]["metadata"]["labels"],
                        },
                        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                    }
                )
