"""Chaos Mesh NetworkChaos objects validated strictly against the API we rely on.

The schema below is our own, written from Chaos Mesh's documented `chaos-mesh.org/v1alpha1`
NetworkChaos API (the fields, enums and duration format of the v2.x releases); it is not a
copy of the release's CRD, which this repository does not vendor. It is stricter than the
API server, as `kubectl apply --validate=strict` is: unknown fields are refused at every level.
Set DOORBUSTER_CHAOS_MESH_CRD to a release's CRD file (config/crd/bases/
chaos-mesh.org_networkchaos.yaml) to validate against that release's own schema as well.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = ["CHAOS_MESH_API", "validate_network_chaos"]

CHAOS_MESH_API = "chaos-mesh.org/v1alpha1"
OBJECT_META = {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences"}

_DURATION = {"type": "string", "pattern": r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$"}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_SELECTOR = {
    "type": "object",
    "properties": {
        "namespaces": {"type": "array", "items": {"type": "string"}},
        "labelSelectors": _STRING_MAP,
        "annotationSelectors": _STRING_MAP,
        "fieldSelectors": _STRING_MAP,
        "nodeSelectors": _STRING_MAP,
        "podPhaseSelectors": {"type": "array", "items": {"type": "string"}},
        "nodes": {"type": "array", "items": {"type": "string"}},
        "pods": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "expressionSelectors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
}
_MODE = {"type": "string", "enum": ["one", "all", "fixed", "fixed-percent", "random-max-percent"]}
_PERCENT = {"type": "string", "pattern": r"^\d+(\.\d+)?$"}
NETWORK_CHAOS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": CHAOS_MESH_API},
        "kind": {"const": "NetworkChaos"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {k: {} for k in OBJECT_META},
            "additionalProperties": False,
        },
        "spec": {
            "type": "object",
            "required": ["action", "mode", "selector"],
            "properties": {
                "action": {
                    "type": "string",
                    "enum": ["netem", "delay", "loss", "duplicate", "corrupt", "partition", "bandwidth"],
                },
                "mode": _MODE,
                "value": {"type": "string"},
                "selector": _SELECTOR,
                "direction": {"type": "string", "enum": ["to", "from", "both"]},
                "target": {
                    "type": "object",
                    "required": ["mode", "selector"],
                    "properties": {"mode": _MODE, "value": {"type": "string"}, "selector": _SELECTOR},
                    "additionalProperties": False,
                },
                "externalTargets": {"type": "array", "items": {"type": "string"}},
                "duration": _DURATION,
                "device": {"type": "string"},
                "targetDevice": {"type": "string"},
                "remoteCluster": {"type": "string"},
                "delay": {
                    "type": "object",
                    "required": ["latency"],
                    "properties": {
                        "latency": _DURATION,
                        "jitter": _DURATION,
                        "correlation": _PERCENT,
                        "reorder": {"type": "object"},
                    },
                    "additionalProperties": False,
                },
                "loss": {
                    "type": "object",
                    "required": ["loss"],
                    "properties": {"loss": _PERCENT, "correlation": _PERCENT},
                    "additionalProperties": False,
                },
                "bandwidth": {
                    "type": "object",
                    "required": ["rate", "limit", "buffer"],
                    "properties": {
                        "rate": {"type": "string"},
                        "limit": {"type": "integer"},
                        "buffer": {"type": "integer"},
                        "peakrate": {"type": "integer"},
                        "minburst": {"type": "integer"},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
            # A delay needs its latency, as the controller refuses a delay without one.
            "if": {"properties": {"action": {"const": "delay"}}},
            "then": {"required": ["delay"]},
        },
    },
    "additionalProperties": False,
}


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
def _release_schema(path: str) -> dict[str, Any]:
    crd = next(doc for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if doc)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = NETWORK_CHAOS_SCHEMA["properties"]["metadata"]
    return schema


def validate_network_chaos(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `obj` is not a NetworkChaos the API accepts."""
    jsonschema.validate(obj, NETWORK_CHAOS_SCHEMA)
    release_crd = os.environ.get("DOORBUSTER_CHAOS_MESH_CRD")
    if release_crd:
        jsonschema.validate(obj, _release_schema(release_crd))
