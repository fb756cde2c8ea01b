"""Every object of every kustomization validates strictly against the Kubernetes 1.30 schemas."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.support.manifests import OVERLAYS, objects

KUBERNETES_VERSION = "1.30.0"


def validate(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly_against_kubernetes_1_30(overlay: str) -> None:
    failures = []
    for obj in objects(overlay):
        try:
            validate(obj)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    deployment = next(o for o in objects("base") if o["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        validate(broken)


def test_strict_validation_rejects_a_wrong_type() -> None:
    hpa = next(o for o in objects("base") if o["kind"] == "HorizontalPodAutoscaler")
    broken = copy.deepcopy(hpa)
    broken["spec"]["maxReplicas"] = "24"
    with pytest.raises(kubernetes_validate.ValidationError, match="'24' is not of type 'integer'"):
        validate(broken)
