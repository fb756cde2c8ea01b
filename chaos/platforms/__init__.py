"""Platforms an experiment runs on, chosen by `configuration["platform"]` (default `local`).

A platform is a module of this package with a `Platform` subclass; the registry maps its
name to `module:Class` and imports it only when an experiment asks for it, so the local
platform never needs the Kubernetes client and a platform added later changes no experiment.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from chaos.platforms.base import Link, NotSupported, Platform, Pod, RolloutStep

__all__ = ["PLATFORMS", "Link", "NotSupported", "Platform", "Pod", "RolloutStep", "platform_for"]

DEFAULT_PLATFORM = "local"
PLATFORMS: dict[str, str] = {
    "local": "chaos.platforms.local:LocalPlatform",
    "kubernetes": "chaos.platforms.kubernetes:KubernetesPlatform",
}


def platform_for(configuration: Mapping[str, Any] | None) -> Platform:
    """The platform the experiment's configuration names; NotSupported for an unknown one."""
    configuration = configuration or {}
    name = str(configuration.get("platform") or DEFAULT_PLATFORM).strip().lower()
    target = PLATFORMS.get(name)
    if target is None:
        raise NotSupported(
            f"platform {name!r} is not supported; configuration 'platform' must be one of {', '.join(PLATFORMS)}"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise NotSupported(f"platform {name!r} is not supported in this build (no module {module_name})") from None
    cls = getattr(module, class_name)
    return cls(configuration)  # type: ignore[no-any-return]
