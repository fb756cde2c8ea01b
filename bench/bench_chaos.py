"""Per experiment on the local shop: kill → replacement ready, heal → legacy converged, in seconds.

    python3 -m bench.bench_chaos            # or: python3 -m bench chaos

A shop (embedded profile, 2,000 products, default replicas) runs under a light load of its own
(a browsing and a checking-out shopper); each experiment runs through `doorbuster chaos run`
with a 3 s fault (`BENCH_CHAOS_FAULT_S`), `BENCH_CHAOS_ROUNDS` times (default 1). Measured from
the runtime and the journals, not from the experiments' own limits:

- kill: from the kill (the action's start) to the killed pod's replacement answering /readyz;
- partition/reset/latency on inventory->legacy: from the heal (the action's end) to legacy
  holding the same stock as inventory (the `legacy-converges-after-the-heal` probe's wait);
- rolling restart: seconds per replica replaced;
- notifications down: from the restart to every order the probe placed meanwhile notified.

Reported, not judged: these are recovery times to read against the SLO file's budgets.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import requests

from retailflow.runtime.client import RuntimeClient

ROUNDS = int(os.environ.get("BENCH_CHAOS_ROUNDS", "1"))
FAULT_S = os.environ.get("BENCH_CHAOS_FAULT_S", "3")
EXPERIMENTS = (
    "kill-catalog-pod",
    "kill-inventory-pod",
    "kill-gateway-pod",
    "kill-orders-pod",
    "partition-inventory-legacy",
    "reset-inventory-legacy",
    "slow-inventory-legacy",
    "slow-payment-provider",
    "failing-payment-provider",
    "notifications-down",
    "rolling-restart-catalog",
    "freeze-inventory-pod",
    "cache-loss",
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_") and k != "DOORBUSTER_DATA_DIR"}
    env.update({"RF_LOG_LEVEL": "WARNING", "RF_PRODUCTS": "2000"})
    return env


def _doorbuster(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", *args], env=_env(), capture_output=True, text=True, timeout=timeout
    )


class _LightLoad:
    """A browsing and a checking-out shopper, a few requests a second each, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.stop = threading.Event()
        self.requests = 0
        self.errors = 0
        self.threads = [threading.Thread(target=self._browse), threading.Thread(target=self._checkout)]

    def __enter__(self) -> _LightLoad:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=20)

    def _count(self, ok: bool) -> None:
        self.requests += 1
        self.errors += not ok

    def _browse(self) -> None:
        with requests.Session() as http:
            page = 0
            while not self.stop.is_set():
                page = page % 40 + 1
                try:
                    self._count(http.get(f"{self.url}/api/products?page={page}", timeout=5).status_code == 200)
                except requests.RequestException:
                    self._count(False)
                self.stop.wait(0.2)

    def _checkout(self) -> None:
        with requests.Session() as http:
            items = http.get(self.url + "/api/products?per_page=24", timeout=5).json()["items"]
            skus = [p["sku"] for p in items if not p["doorbuster"]]
            i = 0
            while not self.stop.is_set():
                i += 1
                try:
                    cart = http.post(self.url + "/api/carts", timeout=5).json()["cart_id"]
                    item = {"sku": skus[i % len(skus)], "qty": 1}
                    http.post(f"{self.url}/api/carts/{cart}/items", json=item, timeout=5)
                    body = {"cart_id": cart, "payment_token": "tok_visa", "customer_id": "bench"}
                    resp = http.post(
                        self.url + "/api/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=15
                    )
                    self._count(resp.status_code in (201, 402, 409))
                except (requests.RequestException, ValueError, KeyError):
                    self._count(False)
                self.stop.wait(0.4)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _measure(name: str, journal: dict[str, Any], client: RuntimeClient) -> str:
    runs = {r["activity"]["name"]: r for r in journal.get("run", [])}
    if name.startswith("kill-"):
        run = next(r for r in journal["run"] if r["activity"]["type"] == "action")
        killed = run["output"][0]["pod"]
        service, _, replica = killed.partition("/")
        pod = next(p for p in client.pods(service) if p["replica"] == int(replica))
        return f"kill → replacement ready {pod['ready_at'] - _epoch(run['start']):5.2f} s ({killed})"
    if "legacy-converges-after-the-heal" in runs:
        output = runs["legacy-converges-after-the-heal"].get("output") or {}
        return f"heal → legacy converged {output.get('seconds', float('nan')):5.2f} s"
    if name == "rolling-restart-catalog":
        steps = runs["rolling-restart-catalog"].get("output") or []
        return "replica replaced in " + ", ".join(f"{s['seconds']:.2f} s" for s in steps)
    if name == "notifications-down":
        restarted = _epoch(runs["stop-every-notifications-pod"]["end"])
        caught_up = _epoch(runs["notifications-catch-up-from-the-outbox"]["end"])
        orders = (runs["notifications-catch-up-from-the-outbox"].get("output") or {}).get("orders")
        return f"restart → {orders} orders notified {caught_up - restarted:5.2f} s"
    return ""


def _reap(data_dir: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((data_dir / "runtime.json").read_text())
        for pid in [state.get("pid"), *(p.get("pid") for p in state.get("pods", []))]:
            with contextlib.suppress(psutil.Error):
                if pid:
                    psutil.Process(int(pid)).send_signal(signal.SIGKILL)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp:
        data_dir, runs = Path(tmp) / "shop", Path(tmp) / "runs"
        up = _doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--timeout", "240", "--ttl", "30m")
        try:
            if up.returncode != 0:
                print(f"doorbuster up failed ({up.returncode}):\n{up.stderr}", file=sys.stderr)
                return 1
            client = RuntimeClient(data_dir)
            url = client.status()["storefront_url"]
            print(f"fault {FAULT_S} s, {ROUNDS} round(s); light load: a browsing and a checking-out shopper")
            with _LightLoad(url) as load:
                for round_ in range(ROUNDS):
                    for name in EXPERIMENTS:
                        run_dir = runs / f"{round_}-{name}"
                        started = time.monotonic()
                        result = _doorbuster(
                            "chaos", "run", name, "--data-dir", str(data_dir), "--run-dir", str(run_dir),
                            "--var", f"fault_s={FAULT_S}", "--var", "window_s=1", "--var", "settle_s=5",
                            timeout=600,
                        )  # fmt: skip
                        took = time.monotonic() - started
                        verdict = json.loads((run_dir / "chaos" / f"{name}.verdict.json").read_text())
                        journal = json.loads((run_dir / "chaos" / f"{name}.journal.json").read_text())
                        window = verdict.get("fault") or {}
                        fault = f"{window['end'] - window['start']:5.2f} s" if window else "    -"
                        print(
                            f"  {name:<28} {verdict['verdict']:<8} (exit {result.returncode}) run {took:5.1f} s, "
                            f"fault window {fault}  {_measure(name, journal, client)}",
                            flush=True,
                        )
            print(f"light load: {load.requests} requests, {load.errors} failed")
        finally:
            _doorbuster("down", "--data-dir", str(data_dir), timeout=120)
            _reap(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
