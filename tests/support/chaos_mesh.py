"""Chaos Mesh objects validated against the NetworkChaos CRD of a named release (vendored).

The CRD's schema is structural: the API server prunes unknown fields rather than refusing
them. Validation here is stricter, as `kubectl apply --validate=strict` is: every object schema
that lists its properties refuses others, and metadata may hold only ObjectMeta's fields.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = ["CHAOS_MESH_RELEASE", "validate_network_chaos"]

CHAOS_MESH_RELEASE = "v2.8.3"
CRD = Path(__file__).resolve().parents[1] / "schemas" / f"chaos-mesh-{CHAOS_MESH_RELEASE}-networkchaos-crd.yaml"
OBJECT_META = {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences"}


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def _schema() -> dict[str, Any]:
    crd = next(doc for doc in yaml.safe_load_all(CRD.read_text(encoding="utf-8")) if doc)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata", "spec"})
    schema["properties"]["apiVersion"] = {"const": f"{crd['spec']['group']}/v1alpha1"}
    schema["properties"]["kind"] = {"const": crd["spec"]["names"]["kind"]}
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {key: {} for key in OBJECT_META},
        "additionalProperties": False,
    }
    return schema


def validate_network_chaos(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `obj` is not a NetworkChaos the release accepts."""
    jsonschema.validate(obj, _schema())
