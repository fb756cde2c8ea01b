"""Actions on the payment provider the payments service talks to: slow it, make it fail, clear."""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from doorbuster.chaos.arguments import fraction, seconds, whole
from doorbuster.chaos.faults import hold_fault
from doorbuster.chaos.interrupts import activity, shielded
from doorbuster.chaos.platforms import platform_for

__all__ = ["clear_provider_fault", "provider_fault"]


@activity
def provider_fault(
    latency_ms: int = 0,
    failure_rate: float = 0.0,
    duration_s: float = 10.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Make the payment provider answer after `latency_ms` and decline or fail a share
    `failure_rate` (0..1) of charges for `duration_s`, then restore it. The platform restores it
    by itself shortly after the planned end, should this process die.

    Returns `{"latency_ms", "failure_rate", "fault_s"}`.
    """
    duration = seconds(duration_s, "duration_s", minimum=0.1)
    latency = whole(latency_ms, "latency_ms", maximum=60_000)
    rate = fraction(failure_rate, "failure_rate")
    platform = platform_for(configuration)
    fault_s = hold_fault(
        duration, configuration, lambda expires: platform.set_provider_fault(latency, rate, expires_in_s=expires),
        platform.clear_provider_fault,
    )  # fmt: skip
    return {"latency_ms": latency, "failure_rate": rate, "fault_s": fault_s}


@activity
def clear_provider_fault(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Restore the payment provider. Safe when no fault is set: a rollback. Returns its settings."""
    platform = platform_for(configuration)
    with shielded():
        platform.clear_provider_fault()
    return platform.provider_fault()
