"""Running experiments for real in tests: `doorbuster chaos run` in a child process, the test's own
light load beside it, and a watcher that records what the runtime showed while the fault was on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from doorbuster.background import Background

__all__ = ["ChaosOutcome", "Load", "Watcher", "chaos_argv", "run_chaos", "stop_tree"]

# Short durations: a test shop on busy cores, and a suite that must stay quick.
FAST = (
    "window_s=0.6",
    "settle_s=3",
    "recover_s=30",
    "fault_s=1.5",
    "converge_s=8",
    "catchup_s=30",
    "expiry_margin_s=5",
)


@dataclass
class ChaosOutcome:
    returncode: int
    stdout: str
    stderr: str
    verdict: dict[str, Any]
    journal: dict[str, Any]

    def output_of(self, name: str) -> Any:
        for run in self.journal.get("run", []):
            if run["activity"]["name"] == name:
                return run.get("output")
        raise AssertionError(f"no activity {name!r} in the journal")


def chaos_argv(name: str, data_dir: Path, run_dir: Path, *variables: str) -> list[str]:
    argv = [sys.executable, "-m", "doorbuster.cli", "chaos", "run", name, "--data-dir", str(data_dir)]
    argv += ["--run-dir", str(run_dir)]
    for var in (*FAST, *variables):
        argv += ["--var", var]
    return argv


def read_outcome(
    proc: subprocess.Popen[str] | subprocess.CompletedProcess[str], run_dir: Path, name: str, stdout: str, stderr: str
) -> ChaosOutcome:
    folder = run_dir / "chaos"

    def load(suffix: str) -> dict[str, Any]:
        path = folder / f"{name}.{suffix}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    return ChaosOutcome(int(proc.returncode or 0), stdout, stderr, load("verdict"), load("journal"))


def run_chaos(name: str, data_dir: Path, run_dir: Path, *variables: str, timeout: float = 180) -> ChaosOutcome:
    proc = subprocess.run(
        chaos_argv(name, data_dir, run_dir, *variables), capture_output=True, text=True, timeout=timeout
    )
    return read_outcome(proc, run_dir, name, proc.stdout, proc.stderr)


def stop_tree(proc: subprocess.Popen[Any]) -> None:
    """Kill, by PID, the process and every child it started (a test that failed midway)."""
    try:
        parent = psutil.Process(proc.pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


class Load(Background):
    """The test's light load: a browsing shopper and a checking-out shopper, a few requests a second."""

    join_timeout_s = 15.0

    def __init__(self, url: str, *, browse: bool = True, checkout: bool = True, shoppers: int = 1) -> None:
        loops = ([self._browse] if browse else []) + [self._checkout] * (shoppers if checkout else 0)
        super().__init__(*loops)
        self.url = url.rstrip("/")
        self.requests = 0
        self.errors: list[str] = []

    def _get(self, http: requests.Session, path: str) -> requests.Response | None:
        try:
            resp = http.get(self.url + path, timeout=5)
        except requests.RequestException as exc:
            self.errors.append(f"GET {path}: {type(exc).__name__}")
            return None
        self.requests += 1
        if resp.status_code != 200:
            self.errors.append(f"GET {path}: {resp.status_code}")
        return resp

    def _browse(self) -> None:
        with requests.Session() as http:
            page = 0
            while not self.stop.is_set():
                page = page % 40 + 1
                for path in ("/", f"/api/products?per_page=6&page={page}", f"/search?q=shirt&page={page}"):
                    self._get(http, path)
                    self.stop.wait(0.2)

    def _checkout(self) -> None:
        with requests.Session() as http:
            listing = self._get(http, "/api/products?per_page=24")
            skus = [p["sku"] for p in listing.json()["items"] if not p["doorbuster"]] if listing else []
            i = 0
            while skus and not self.stop.is_set():
                i += 1
                try:
                    cart = http.post(self.url + "/api/carts", timeout=5).json()["cart_id"]
                    http.post(
                        f"{self.url}/api/carts/{cart}/items", json={"sku": skus[i % len(skus)], "qty": 1}, timeout=5
                    )
                    body = {"cart_id": cart, "payment_token": "tok_visa", "customer_id": "test-load"}
                    resp = http.post(
                        self.url + "/api/orders", json=body, timeout=15, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                    self.requests += 3
                    if resp.status_code not in (201, 402, 409):
                        self.errors.append(f"POST /api/orders: {resp.status_code}")
                except (requests.RequestException, ValueError, KeyError) as exc:
                    self.errors.append(f"checkout: {type(exc).__name__}")
                self.stop.wait(0.3)


@dataclass
class Watcher(Background):
    """Polls the runtime's /status every 0.1 s while an experiment runs; `check(status)` may add notes."""

    client: Any
    check: Callable[[dict[str, Any]], None] | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                status = self.client.status()
            except Exception:
                status = None
            if status is not None:
                status["at"] = time.time()
                self.seen.append(status)
                if self.check is not None:
                    try:
                        self.check(status)
                    except Exception as exc:  # the test reads the notes
                        self.notes.append(("check failed", repr(exc)))
            self.stop.wait(0.1)

    def links(self, name: str) -> set[str]:
        return {link["state"] for s in self.seen for link in s["links"] if link["name"] == name}

    def pods(self, service: str, key: str) -> set[Any]:
        return {p[key] for s in self.seen for p in s["pods"] if p["service"] == service}
