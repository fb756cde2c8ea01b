"""Probes of a service's pods: are they ready, and which processes run them."""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaos.arguments import names, seconds
from chaos.interrupts import activity
from chaos.platforms import platform_for

__all__ = ["pods_ready", "ready_replicas"]


@activity
def ready_replicas(service: str, configuration: Configuration = None, secrets: Secrets = None) -> int:
    """How many replicas of `service` are ready right now (a number a `range` tolerance checks)."""
    return sum(pod.ready for pod in platform_for(configuration).pods(service))


@activity
def pods_ready(
    services: list[str] | str | None = None,
    timeout_s: float = 30.0,
    must_hold: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Wait up to `timeout_s` until every pod of `services` (all when empty) is ready.

    Returns `{"ready": bool, "seconds": waited, "not_ready": [pod, ...], "violations": count}`;
    check it with the tolerance `{"type": "range", "target": "violations", "range": [0, 0]}`. In a
    method, `must_hold: true` fails the activity when a pod is still not ready.
    """
    timeout = seconds(timeout_s, "timeout_s")
    platform = platform_for(configuration)
    wanted = names(services, "services") or platform.services()
    started = time.monotonic()
    while True:
        waiting = [pod.name for service in wanted for pod in platform.pods(service) if not pod.ready]
        waited = round(time.monotonic() - started, 3)
        if not waiting or waited >= timeout:
            if must_hold and waiting:
                raise ActivityFailed(f"pods not ready after {waited:g} s: {', '.join(waiting)}")
            return {"ready": not waiting, "seconds": waited, "not_ready": waiting, "violations": len(waiting)}
        time.sleep(0.2)
