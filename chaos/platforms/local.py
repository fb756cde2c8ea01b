"""The local platform: the shop on RetailFlow's pod runtime, driven through its control API.

Configuration: `data_dir` (the shop's folder; default `$DOORBUSTER_DATA_DIR` or `.doorbuster`)
or `control_url`. Pods are named `<service>/<replica>` as the runtime names them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed

from chaos.platforms.base import Link, Platform, Pod, RolloutStep
from retailflow.runtime.client import RuntimeClient
from retailflow.runtime.errors import PodRuntimeError

__all__ = ["LocalPlatform"]

T = TypeVar("T")
CONTROL_TIMEOUT_S = 10.0


class LocalPlatform(Platform):
    name = "local"

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        super().__init__(configuration)
        target = str(self.configuration.get("control_url") or "").strip() or str(
            self.configuration.get("data_dir") or os.environ.get("DOORBUSTER_DATA_DIR") or ".doorbuster"
        )
        self.target = target
        self.client = RuntimeClient(target, timeout_s=CONTROL_TIMEOUT_S)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except PodRuntimeError as exc:
            raise ActivityFailed(f"{what} on the local runtime ({self.target}): {exc}") from None

    def _status(self) -> dict[str, Any]:
        return self._call("reading the shop's status", self.client.status)

    # -- where things are -----------------------------------------------------------------
    def storefront_url(self) -> str:
        url = self._status().get("storefront_url")
        if not url:
            raise ActivityFailed(f"the local runtime ({self.target}) runs no gateway: no storefront URL")
        return str(url)

    def service_url(self, service: str) -> str:
        for entry in self._status()["services"]:
            if entry["name"] == service:
                return str(entry["url"])
        raise ActivityFailed(f"service {service!r} does not run on the local runtime ({self.target})")

    def services(self) -> list[str]:
        return [str(s["name"]) for s in self._status()["services"]]

    def storage_profile(self) -> str:
        return str(self._status().get("profile", "embedded"))

    # -- pods -------------------------------------------------------------------------------
    def pods(self, service: str) -> list[Pod]:
        status = self._status()
        if service not in {s["name"] for s in status["services"]}:
            known = ", ".join(s["name"] for s in status["services"])
            raise ActivityFailed(f"service {service!r} does not run on the local runtime; services are {known}")
        return [
            Pod(
                service=p["service"],
                name=f"{p['service']}/{p['replica']}",
                ready=bool(p["ready"]),
                restarts=int(p["restarts"]),
                pid=p.get("pid"),
                started_at=p.get("create_time"),
                frozen=bool(p.get("frozen")),
            )
            for p in status["pods"]
            if p["service"] == service
        ]

    @staticmethod
    def _replica(pod: Pod) -> int:
        return int(pod.name.rpartition("/")[2])

    def terminate_pod(self, pod: Pod, signal: str = "SIGKILL", grace_period_s: float | None = None) -> None:
        answer = self._call(
            f"killing pod {pod.name} with {signal}",
            lambda: self.client.kill_pod(pod.service, self._replica(pod), signal),
        )
        if grace_period_s is None or grace_period_s < 0 or str(signal).upper().lstrip("SIG") == "KILL":
            return
        # A graceful signal with a grace period: SIGKILL what is still the same process after it.
        deadline = time.monotonic() + grace_period_s
        while time.monotonic() < deadline:
            if self._pid_of(pod) != answer["pid"]:
                return
            time.sleep(0.1)
        if self._pid_of(pod) == answer["pid"]:
            self._call(
                f"killing pod {pod.name} after its grace period",
                lambda: self.client.kill_pod(pod.service, self._replica(pod), "SIGKILL"),
            )

    def _pid_of(self, pod: Pod) -> int | None:
        return next((p.pid for p in self.pods(pod.service) if p.name == pod.name), None)

    def freeze_pod(self, pod: Pod, expires_in_s: float) -> None:
        self._call(
            f"freezing pod {pod.name}", lambda: self.client.freeze_pod(pod.service, self._replica(pod), expires_in_s)
        )

    def thaw_pod(self, pod: Pod) -> None:
        self._call(f"thawing pod {pod.name}", lambda: self.client.thaw_pod(pod.service, self._replica(pod)))

    # -- services ---------------------------------------------------------------------------
    def rolling_restart(self, service: str, timeout_s: float) -> list[RolloutStep]:
        answer = self._call(
            f"a rolling restart of {service}", lambda: self.client.rolling_restart(service, timeout_s=timeout_s)
        )
        return [
            RolloutStep(
                old=f"{s['pod']} pid {s['old_pid']}", new=f"{s['pod']} pid {s['new_pid']}", seconds=s["seconds"]
            )
            for s in answer["steps"]
        ]

    def stop_service(self, service: str, expires_in_s: float) -> None:
        self._call(f"stopping {service}", lambda: self.client.stop_service(service, expires_in_s))

    def start_service(self, service: str) -> None:
        self._call(f"starting {service}", lambda: self.client.start_service(service))

    # -- links ------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        return [
            Link(name=x["name"], state=x["state"], latency_ms=int(x["latency_ms"]), expires_at=x.get("expires_at"))
            for x in self._status()["links"]
        ]

    def cut_link(self, link: str, mode: str, expires_in_s: float) -> None:
        self._call(f"cutting link {link} ({mode})", lambda: self.client.cut_link(link, mode, expires_in_s))

    def slow_link(self, link: str, latency_ms: int, expires_in_s: float) -> None:
        self._call(f"slowing link {link}", lambda: self.client.add_latency(link, latency_ms, expires_in_s))

    def heal_link(self, link: str) -> None:
        self._call(f"healing link {link}", lambda: self.client.heal_link(link))

    # -- the payment provider -----------------------------------------------------------------
    def provider_fault(self) -> dict[str, Any]:
        return self._call("reading the payment provider", self.client.provider)

    def set_provider_fault(self, latency_ms: int, failure_rate: float, expires_in_s: float) -> None:
        self._call(
            "a payment provider fault",
            lambda: self.client.set_provider_fault(latency_ms, failure_rate, expires_in_s),
        )

    def clear_provider_fault(self) -> None:
        self._call("clearing the payment provider fault", self.client.clear_provider_fault)

    # -- integrity ----------------------------------------------------------------------------
    def audit(self, ledger: list[dict[str, Any]], timeout_s: float) -> dict[str, Any]:
        return self._call("the integrity audit", lambda: self.client.audit(ledger, timeout_s=timeout_s))

    def heal_everything(self) -> list[str]:
        return self._call("healing every fault", self.client.heal_everything)
