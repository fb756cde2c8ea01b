"""Actions on a service's pods: kill some (SIGKILL or a graceful signal), freeze some (a hung pod)."""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from doorbuster.chaos.arguments import names, seconds
from doorbuster.chaos.faults import hold_fault
from doorbuster.chaos.interrupts import activity, shielded
from doorbuster.chaos.platforms import platform_for
from doorbuster.chaos.selection import select_pods

__all__ = ["freeze_pods", "terminate_pods", "thaw_pods"]


@activity
def terminate_pods(
    service: str,
    qty: int = 1,
    mode: str = "fixed",
    rand: bool = True,
    all: bool = False,
    signal: str = "SIGKILL",
    grace_period_s: float = -1,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """
    Kill pods of `service`; its controller (the runtime's supervisor, a ReplicaSet) starts
    replacements. `qty` pods when `mode` is `fixed`, `qty` percent of them when `mode` is
    `percentage`; chosen at random when `rand` is true, else the first ones; every pod when
    `all` is true. `signal` is `SIGKILL` (a crash) or a graceful one such as `SIGTERM`, followed by
    SIGKILL after `grace_period_s` when that is 0 or more.

    Returns the killed pods: `[{"pod", "pid", "restarts"}]` as they were before the kill.
    """
    platform = platform_for(configuration)
    grace = None if float(grace_period_s) < 0 else seconds(grace_period_s, "grace_period_s", maximum=600)
    chosen = select_pods(platform.pods(service), service=service, qty=qty, mode=mode, rand=rand, all=all)
    killed = []
    for pod in chosen:
        platform.terminate_pod(pod, signal=signal, grace_period_s=grace)
        killed.append({"pod": pod.name, "pid": pod.pid, "restarts": pod.restarts})
    return killed


@activity
def freeze_pods(
    service: str,
    duration_s: float = 10.0,
    qty: int = 1,
    mode: str = "fixed",
    rand: bool = True,
    all: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[str]:
    """
    Freeze pods of `service` (SIGSTOP: the process holds its sockets and answers nothing, a
    hung pod) for `duration_s`, then thaw them (SIGCONT). The platform thaws them by itself
    shortly after, should this process die first. Pods are chosen as in `terminate_pods`.

    Returns the pods frozen.
    """
    duration = seconds(duration_s, "duration_s", minimum=0.1)
    platform = platform_for(configuration)
    chosen = select_pods(platform.pods(service), service=service, qty=qty, mode=mode, rand=rand, all=all)

    def freeze_chosen(expires_in_s: float) -> None:
        for pod in chosen:
            platform.freeze_pod(pod, expires_in_s=expires_in_s)

    def thaw_chosen() -> None:
        for pod in chosen:
            platform.thaw_pod(pod)

    hold_fault(duration, configuration, freeze_chosen, thaw_chosen)
    return [pod.name for pod in chosen]


@activity
def thaw_pods(
    services: list[str] | str | None = None, configuration: Configuration = None, secrets: Secrets = None
) -> list[str]:
    """
    Thaw every frozen pod of `services` (all services when empty). Safe on a healthy shop:
    a rollback. Returns the pods that were frozen.
    """
    platform = platform_for(configuration)
    wanted = names(services, "services") or platform.services()
    thawed = []
    with shielded():
        for service in wanted:
            for pod in platform.pods(service):
                if pod.frozen:
                    platform.thaw_pod(pod)
                    thawed.append(pod.name)
    return thawed
