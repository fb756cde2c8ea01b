"""Probes of links."""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaos.interrupts import activity
from chaos.platforms import platform_for

__all__ = ["link_state"]


@activity
def link_state(link: str, configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The state of `link`: `ok`, `blackhole` or `reset` (latency shows as `ok`; see the platform)."""
    links = platform_for(configuration).links()
    for entry in links:
        if entry.name == link:
            return entry.state
    raise ActivityFailed(f"no link {link!r}; links are {', '.join(e.name for e in links) or 'none'}")
