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

import json
import os
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import requests

from bench._drive import ShopDidNotStart, bench_shop, doorbuster
from doorbuster.background import Background
from doorbuster.chaos.runner import list_experiments
from retailflow.runtime.client import RuntimeClient

ROUNDS = int(os.environ.get("BENCH_CHAOS_ROUNDS", "1"))
FAULT_S = os.environ.get("BENCH_CHAOS_FAULT_S", "3")
EXPERIMENTS = [path.stem for path in list_experiments()]  # every experiment the suite ships


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_") and k != "DOORBUSTER_DATA_DIR"}
    env.update({"RF_LOG_LEVEL": "WARNING", "RF_PRODUCTS": "2000"})
    return env


class _LightLoad(Background):
    """A browsing and a checking-out shopper, a few requests a second each, until stopped."""

    join_timeout_s = 20.0

    def __init__(self, url: str) -> None:
        super().__init__(self._browse, self._checkout)
        self.url = url.rstrip("/")
        self.requests = 0
        self.errors = 0

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


def main() -> int:
    try:
        with bench_shop("bench-chaos-", ttl="30m", env=_env()) as shop, _LightLoad(shop.url) as load:
            client = RuntimeClient(shop.data_dir)
            print(f"fault {FAULT_S} s, {ROUNDS} round(s); light load: a browsing and a checking-out shopper")
            for round_ in range(ROUNDS):
                for name in EXPERIMENTS:
                    run_dir = shop.tmp / "runs" / f"{round_}-{name}"
                    started = time.monotonic()
                    result = doorbuster(
                        "chaos", "run", name, "--data-dir", str(shop.data_dir), "--run-dir", str(run_dir),
                        "--var", f"fault_s={FAULT_S}", "--var", "window_s=1", "--var", "settle_s=5",
                        env=_env(), timeout=600,
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
    except ShopDidNotStart as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"light load: {load.requests} requests, {load.errors} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
