"""`RuntimeClient`: the control API from Python, for the chaos activities, load code and tests.

client = RuntimeClient(".doorbuster")          # or RuntimeClient("http://127.0.0.1:41234")
client.wait_ready(60)
client.kill_pod("orders", 0)
client.cut_link("inventory->legacy", "blackhole"); ...; client.heal_link("inventory->legacy")
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from retailflow.runtime.errors import ControlError, NotRunning, PodRuntimeError
from retailflow.runtime.state import is_alive, read_state

__all__ = ["RuntimeClient"]


def _with_expiry(body: dict[str, Any], expires_in_s: float | None) -> dict[str, Any]:
    return body if expires_in_s is None else {**body, "expires_in_s": expires_in_s}


class RuntimeClient:
    def __init__(self, target: str | os.PathLike[str], *, timeout_s: float = 10.0) -> None:
        """`target`: the shop's data folder (its runtime.json names the control URL) or that URL."""
        text = os.fspath(target)
        self._url = text.rstrip("/") if text.startswith(("http://", "https://")) else None
        self._data_dir = None if self._url else Path(text)
        self.timeout_s = timeout_s
        self._http = requests.Session()

    @property
    def control_url(self) -> str:
        if self._url:
            return self._url
        assert self._data_dir is not None
        state = read_state(self._data_dir)
        if not state or not state.get("control_url"):
            raise NotRunning(f"no shop is running from {self._data_dir} (no {self._data_dir / 'runtime.json'})")
        if state.get("state") == "stopped" or not is_alive(state.get("pid"), state.get("create_time")):
            raise NotRunning(
                f"no shop is running from {self._data_dir}: its supervisor (pid {state.get('pid')}) has stopped"
            )
        return str(state["control_url"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        base = self.control_url  # reads runtime.json: once per call
        try:
            resp = self._http.request(method, base + path, json=body, timeout=timeout_s or self.timeout_s)
        except requests.RequestException as exc:
            raise NotRunning(f"the runtime's control API at {base} did not answer: {exc}") from None
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if resp.status_code >= 400:
            detail = answer.get("detail") if isinstance(answer, dict) else resp.text[:200]
            code = answer.get("error", "error") if isinstance(answer, dict) else "error"
            raise ControlError(f"{method} {path}: {detail}", status=resp.status_code, code=str(code))
        return answer

    # -- the contract's operations ------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return dict(self._call("GET", "/status"))

    def pods(self, service: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.status()["pods"] if service is None or p["service"] == service]

    def links(self) -> list[dict[str, Any]]:
        return list(self.status()["links"])

    def kill_pod(self, service: str, replica: int, signal: str | int = "SIGKILL") -> dict[str, Any]:
        path = f"/pods/{quote(service, safe='')}/{int(replica)}/kill"
        return dict(self._call("POST", path, {"signal": signal}))

    # Every fault takes `expires_in_s`: the runtime heals it by itself after that long (None =
    # the runtime's default of five minutes), even if the caller dies before healing it.

    def cut_link(self, name: str, mode: str = "blackhole", expires_in_s: float | None = None) -> dict[str, Any]:
        body = _with_expiry({"mode": mode}, expires_in_s)
        return dict(self._call("POST", f"/links/{quote(name, safe='')}/cut", body))

    def add_latency(self, name: str, ms: int, expires_in_s: float | None = None) -> dict[str, Any]:
        body = _with_expiry({"ms": ms}, expires_in_s)
        return dict(self._call("POST", f"/links/{quote(name, safe='')}/latency", body))

    def limit_bandwidth(self, name: str, kbps: int, expires_in_s: float | None = None) -> dict[str, Any]:
        body = _with_expiry({"kbps": kbps}, expires_in_s)
        return dict(self._call("POST", f"/links/{quote(name, safe='')}/bandwidth", body))

    def freeze_pod(self, service: str, replica: int, expires_in_s: float | None = None) -> dict[str, Any]:
        path = f"/pods/{quote(service, safe='')}/{int(replica)}/freeze"
        return dict(self._call("POST", path, _with_expiry({}, expires_in_s)))

    def thaw_pod(self, service: str, replica: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/pods/{quote(service, safe='')}/{int(replica)}/thaw"))

    def stop_service(self, service: str, expires_in_s: float | None = None) -> dict[str, Any]:
        path = f"/services/{quote(service, safe='')}/stop"
        return dict(self._call("POST", path, _with_expiry({}, expires_in_s)))

    def start_service(self, service: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/services/{quote(service, safe='')}/start"))

    def rolling_restart(self, service: str, timeout_s: float = 120.0) -> dict[str, Any]:
        path = f"/services/{quote(service, safe='')}/restart"
        return dict(self._call("POST", path, {"timeout_s": timeout_s}, timeout_s=timeout_s + 10))

    def provider(self) -> dict[str, Any]:
        return dict(self._call("GET", "/provider"))

    def set_provider_fault(
        self, latency_ms: int | None = None, failure_rate: float | None = None, expires_in_s: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if failure_rate is not None:
            body["failure_rate"] = failure_rate
        return dict(self._call("POST", "/provider/fault", _with_expiry(body, expires_in_s)))

    def clear_provider_fault(self) -> dict[str, Any]:
        return dict(self._call("POST", "/provider/clear"))

    def heal_everything(self) -> list[str]:
        """Undo every fault the runtime holds; what was healed, one line each."""
        return list(self._call("POST", "/heal")["healed"])

    def heal_link(self, name: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/links/{quote(name, safe='')}/heal"))

    def audit(self, ledger: list[dict[str, Any]], timeout_s: float = 300.0) -> dict[str, Any]:
        return dict(self._call("POST", "/audit", {"ledger": ledger}, timeout_s=timeout_s))

    def shutdown(self) -> None:
        self._call("POST", "/shutdown")

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """Block until every pod is ready; the status then. Raises naming the pods still not ready."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            try:
                last = self.status()
                if last.get("all_ready"):
                    return last
            except NotRunning:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                waiting = [
                    f"{p['service']}/{p['replica']} ({p['state']})"
                    for p in (last or {}).get("pods", [])
                    if not p["ready"]
                ]
                raise PodRuntimeError(f"pods not ready after {timeout:g} s: {', '.join(waiting) or 'none started'}")
            time.sleep(0.2)
