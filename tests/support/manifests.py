"""The rendered Kubernetes manifests of deploy/, as the tests read them.

Rendering goes through `kubectl kustomize` like `doorbuster deploy render`. Without kubectl the
tests that need it skip saying so, and fail in CI (CI=true), where kubectl must be present.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from doorbuster.deploy import REPO_DEPLOY, build, overlays

__all__ = [
    "DEPLOY",
    "OVERLAYS",
    "SHOP_OVERLAYS",
    "containers",
    "objects",
    "pod_templates",
    "require_kubectl",
]

DEPLOY = REPO_DEPLOY
OVERLAYS = tuple(overlays(DEPLOY))  # base, in-cluster, managed-stores, load, chaos
SHOP_OVERLAYS = tuple(name for name in OVERLAYS if name not in ("base", "load", "chaos"))


def require_kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl:
        return kubectl
    message = "kubectl is not on PATH: the deploy/ tests render the manifests with `kubectl kustomize`"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must have kubectl)")
    pytest.skip(message)


@functools.cache
def _rendered(name: str) -> str:
    return build(overlays(DEPLOY)[name])


def objects(name: str) -> list[dict[str, Any]]:
    """Every object of one rendered kustomization (a fresh copy: tests may change it)."""
    require_kubectl()
    return [doc for doc in yaml.safe_load_all(_rendered(name)) if doc]


def pod_templates(objs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, its pod template) for every Deployment, StatefulSet and Job."""
    for obj in objs:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield obj, obj["spec"]["template"]


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def read_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
