"""The platform interface: what an experiment's activities ask of the place the shop runs.

An activity never talks to a runtime or a cluster itself. It asks the platform named by the
experiment's `configuration["platform"]` (see `chaos.platforms.platform_for`), in the shop's
own terms: a service, a pod of it, a link such as `inventory->legacy`, the payment provider.

Every method that injects a fault takes `expires_in_s`: a platform that can heal by itself
(the local runtime's dead-man switch) heals the fault after that long even if the chaos
process is killed; one that cannot may ignore it, the rollbacks still heal. Every method
bounds its own time: Chaos Toolkit does not enforce `timeout` on Python activities.

A method a platform cannot do keeps the default below, which raises
`NotSupported("<what> is not supported on <platform>")`: an experiment never passes quietly
on a platform that skipped its fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib.exceptions import ActivityFailed

__all__ = ["Link", "NotSupported", "Platform", "Pod", "RolloutStep"]


class NotSupported(ActivityFailed):  # type: ignore[misc]  # chaoslib ships no types
    """The experiment asked for something its platform cannot do."""


@dataclass(frozen=True)
class Pod:
    """One replica of a service, as the platform names it."""

    service: str
    name: str  # the handle the platform's other methods take: `catalog/1` locally, the pod name on Kubernetes
    ready: bool
    restarts: int
    pid: int | None = None  # local only: the process id (a kill changes it)
    started_at: float | None = None  # epoch seconds the current process/container started
    frozen: bool = False


@dataclass(frozen=True)
class Link:
    """A network path an experiment may cut: `inventory->legacy`, `catalog->redis`, ..."""

    name: str
    state: str  # "ok", "blackhole", "reset"
    latency_ms: int = 0
    expires_at: float | None = None  # when the platform heals it by itself, if it can


@dataclass(frozen=True)
class RolloutStep:
    """One replica replaced during a rolling restart."""

    old: str
    new: str
    seconds: float  # from stopping the old one to the replacement being ready


class Platform:
    """Base of every platform. Subclasses override what they support; the rest refuses."""

    name = "abstract"

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        self.configuration = dict(configuration or {})

    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{what} is not supported on {self.name}")

    # -- where things are -----------------------------------------------------------------
    def storefront_url(self) -> str:
        """The shop's public base URL (the gateway), e.g. `http://127.0.0.1:8080/`."""
        raise self._unsupported("finding the storefront URL")

    def service_url(self, service: str) -> str:
        """The base URL of one service (behind the gateway), for probes of its admin routes."""
        raise self._unsupported(f"reaching service {service!r} directly")

    def services(self) -> list[str]:
        """The services the shop runs."""
        raise self._unsupported("listing services")

    def storage_profile(self) -> str:
        """`embedded` or `services`: an experiment on a networked store applies only to the latter."""
        raise self._unsupported("telling the storage profile")

    # -- pods -------------------------------------------------------------------------------
    def pods(self, service: str) -> list[Pod]:
        """The service's replicas, in a stable order."""
        raise self._unsupported(f"listing pods of {service!r}")

    def terminate_pod(self, pod: Pod, signal: str = "SIGKILL", grace_period_s: float | None = None) -> None:
        """Kill one replica; its controller (ReplicaSet, supervisor) starts a replacement."""
        raise self._unsupported(f"terminating pod {pod.name} with {signal}")

    def freeze_pod(self, pod: Pod, expires_in_s: float) -> None:
        """Stop the replica's processes (SIGSTOP) without killing them: a hung pod."""
        raise self._unsupported(f"freezing pod {pod.name}")

    def thaw_pod(self, pod: Pod) -> None:
        """Undo `freeze_pod` (SIGCONT). Safe on a pod that is not frozen."""
        raise self._unsupported(f"thawing pod {pod.name}")

    # -- services ---------------------------------------------------------------------------
    def rolling_restart(self, service: str, timeout_s: float) -> list[RolloutStep]:
        """Replace each replica in turn, waiting for the replacement's readiness (a deploy)."""
        raise self._unsupported(f"a rolling restart of {service!r}")

    def stop_service(self, service: str, expires_in_s: float) -> None:
        """Take every replica down and keep them down (scale to zero) until `start_service`."""
        raise self._unsupported(f"stopping service {service!r}")

    def start_service(self, service: str) -> None:
        """Undo `stop_service`. Safe on a service that runs."""
        raise self._unsupported(f"starting service {service!r}")

    # -- links ------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        """Every link the platform can cut, with its state."""
        raise self._unsupported("listing links")

    def cut_link(self, link: str, mode: str, expires_in_s: float) -> None:
        """Partition `link`: mode `blackhole` (traffic hangs) or `reset` (connections refused/reset)."""
        raise self._unsupported(f"cutting link {link!r} ({mode})")

    def slow_link(self, link: str, latency_ms: int, expires_in_s: float) -> None:
        """Add `latency_ms` to every round trip over `link`."""
        raise self._unsupported(f"adding latency to link {link!r}")

    def heal_link(self, link: str) -> None:
        """Undo any fault on `link`. Safe on a healthy link."""
        raise self._unsupported(f"healing link {link!r}")

    # -- the payment provider -----------------------------------------------------------------
    def provider_fault(self) -> dict[str, Any]:
        """The provider's current `{"latency_ms", "failure_rate"}`."""
        raise self._unsupported("reading the payment provider's settings")

    def set_provider_fault(self, latency_ms: int, failure_rate: float, expires_in_s: float) -> None:
        """Make the payment provider slow (`latency_ms`) and/or fail a share of charges."""
        raise self._unsupported("a payment provider fault")

    def clear_provider_fault(self) -> None:
        """Back to a healthy provider. Safe when no fault is set."""
        raise self._unsupported("clearing a payment provider fault")

    # -- integrity ----------------------------------------------------------------------------
    def audit(self, ledger: list[dict[str, Any]], timeout_s: float) -> dict[str, Any]:
        """Run the integrity audit; the answer has audit.json's shape (docs/contracts.md)."""
        raise self._unsupported("the integrity audit")

    # -- the runner's safety net ----------------------------------------------------------------
    def heal_everything(self) -> list[str]:
        """Undo every fault this platform can have injected; what was healed, one line each.

        `doorbuster chaos run` calls it after an interrupted or killed experiment.
        """
        raise self._unsupported("healing every fault")
