"""Actions on a whole service: a rolling restart (a deploy), and taking it down for a while."""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from doorbuster.chaos.arguments import names, seconds
from doorbuster.chaos.faults import hold_fault
from doorbuster.chaos.interrupts import activity, shielded
from doorbuster.chaos.platforms import platform_for

__all__ = ["rolling_restart", "start_services", "stop_service"]


@activity
def rolling_restart(
    service: str, timeout_s: float = 120.0, configuration: Configuration = None, secrets: Secrets = None
) -> list[dict[str, Any]]:
    """
    Replace each replica of `service` in turn and wait for the replacement's readiness before
    the next one, as a deploy does. Fails when a replacement is not ready within `timeout_s`.

    Returns one `{"old", "new", "seconds"}` per replica replaced.
    """
    timeout = seconds(timeout_s, "timeout_s", minimum=1)
    steps = platform_for(configuration).rolling_restart(service, timeout_s=timeout)
    return [{"old": s.old, "new": s.new, "seconds": s.seconds} for s in steps]


@activity
def stop_service(
    service: str, duration_s: float = 10.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """
    Take every replica of `service` down and keep it down for `duration_s` (a whole dependency
    lost), then start it again. The platform starts it by itself shortly after, should this
    process die first.

    Returns `{"service", "down_s"}`.
    """
    duration = seconds(duration_s, "duration_s", minimum=0.1)
    platform = platform_for(configuration)
    down_s = hold_fault(
        duration, configuration, lambda expires: platform.stop_service(service, expires_in_s=expires),
        lambda: platform.start_service(service),
    )  # fmt: skip
    return {"service": service, "down_s": down_s}


@activity
def start_services(
    services: list[str] | str | None = None, configuration: Configuration = None, secrets: Secrets = None
) -> list[str]:
    """Start `services` (all when empty) if an experiment stopped them. Safe on a healthy shop: a rollback."""
    platform = platform_for(configuration)
    wanted = names(services, "services") or platform.services()
    with shielded():
        for service in wanted:
            platform.start_service(service)
    return wanted
