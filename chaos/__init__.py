"""Doorbuster's Chaos Toolkit extension: faults in the shop's own terms, on a chosen platform.

`chaos discover chaos` lists the activities (from the modules below and their docstrings).
"""

from __future__ import annotations

from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result
from chaoslib.types import DiscoveredActivities, Discovery

__all__ = ["ACTION_MODULES", "PROBE_MODULES", "discover"]

__version__ = "0.1.0"

ACTION_MODULES = ("chaos.pod.actions", "chaos.service.actions", "chaos.link.actions", "chaos.provider.actions")
PROBE_MODULES = ("chaos.pod.probes", "chaos.link.probes", "chaos.provider.probes", "chaos.shop.probes")


def discover(discover_system: bool = True) -> Discovery:
    """Discover the activities this extension offers."""
    discovery = initialize_discovery_result("doorbuster-chaos", __version__, "doorbuster")
    discovery["activities"].extend(load_exported_activities())
    return discovery


def load_exported_activities() -> list[DiscoveredActivities]:
    activities: list[DiscoveredActivities] = []
    for module in ACTION_MODULES:
        activities.extend(discover_actions(module))
    for module in PROBE_MODULES:
        activities.extend(discover_probes(module))
    return activities
