"""Probes of the payment provider."""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from chaos.interrupts import activity
from chaos.platforms import platform_for

__all__ = ["provider_settings"]


@activity
def provider_settings(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """The payment provider's `{"latency_ms", "failure_rate"}` now."""
    return platform_for(configuration).provider_fault()
