"""Light synthetic traffic of a probe's own: a few requests a second, timed and judged.

A probe never borrows the load's numbers: the load may not run at all (an experiment never
starts load), and the probe must judge the shop the same way every time.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = ["Sample", "TrafficResult", "browse", "checkout"]

OK_STATUSES = {200, 201}
PAGES = 40
PAGE_SIZES = (6, 8, 12, 24)
BUSINESS_ANSWERS = {402, 409}  # payment_declined and sold_out: correct answers, not errors


@dataclass
class TrafficResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    confirmed_orders: list[str] = field(default_factory=list)

    def add(self, latency_ms: float, error: str = "") -> None:
        self.latencies_ms.append(latency_ms)
        if error:
            self.errors.append(error)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_rate(self) -> float:
        return len(self.errors) / self.requests if self.requests else 1.0

    @property
    def p95_ms(self) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


Sample = tuple[str, str, dict[str, Any] | None]


def _request(
    http: requests.Session, result: TrafficResult, method: str, url: str, timeout_s: float, **kwargs: Any
) -> requests.Response | None:
    started = time.perf_counter()
    try:
        resp = http.request(method, url, timeout=timeout_s, **kwargs)
    except requests.RequestException as exc:
        result.add((time.perf_counter() - started) * 1000, f"{method} {url}: {type(exc).__name__}")
        return None
    latency = (time.perf_counter() - started) * 1000
    ok = resp.status_code in OK_STATUSES or (method == "POST" and resp.status_code in BUSINESS_ANSWERS)
    result.add(latency, "" if ok else f"{method} {url}: {resp.status_code}")
    return resp


def _paced(duration_s: float, rate_per_s: float) -> Any:
    """Yield at `rate_per_s` for `duration_s`; a late request is not made up for (no burst after a hang)."""
    interval = 1.0 / rate_per_s
    start = time.monotonic()
    for i in itertools.count():
        due = start + i * interval
        now = time.monotonic()
        if now - start >= duration_s:
            return
        if due > now:
            time.sleep(due - now)
        elif now - due > interval:
            continue  # skip starts a hung request cost
        yield i


def _shopper_session() -> requests.Session:
    """A session that resends an idempotent GET once when its kept-alive connection dies.

    A browser does the same (RFC 9110 §9.2.2): a pod killed under a reused connection resets
    it, and the page is fetched again on a new one. A read that fails twice, or any POST, still
    counts as an error, so a service with no live replica is still an outage to the probe.
    """
    session = requests.Session()
    retry = Retry(
        total=1,
        connect=1,
        read=1,
        status=0,
        other=0,
        allowed_methods={"GET", "HEAD"},
        raise_on_status=False,
        backoff_factor=0,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def browse(base: str, paths: list[str], duration_s: float, rate_per_s: float, timeout_s: float) -> TrafficResult:
    """GET `paths` in turn at `rate_per_s`; `{page}` and `{per_page}` in a path vary per request."""
    result = TrafficResult()
    # A random walk over listing pages and page sizes, so that the gateway's cache (seconds of
    # TTL) does not answer for a catalog that is down.
    offset = random.randrange(PAGES)
    with _shopper_session() as http:
        for i in _paced(duration_s, rate_per_s):
            page = 1 + (offset + i // len(paths)) % PAGES
            path = paths[i % len(paths)].replace("{page}", str(page))
            path = path.replace("{per_page}", str(random.choice(PAGE_SIZES)))
            _request(http, result, "GET", base + path, timeout_s)
    return result


def checkout(base: str, duration_s: float, rate_per_s: float, timeout_s: float) -> TrafficResult:
    """Checkouts through the public API at `rate_per_s` requests a second (cart, item, order)."""
    result = TrafficResult()
    with _shopper_session() as http:
        listing = _request(http, result, "GET", base + "/api/products?per_page=24", timeout_s)
        items = listing.json().get("items", []) if listing is not None and listing.status_code == 200 else []
        skus = [p["sku"] for p in items if not p.get("doorbuster")] or [None]
        steps = itertools.cycle(("cart", "item", "order"))
        cart_id = None
        for i, step in zip(_paced(duration_s, rate_per_s), steps, strict=False):
            if step == "cart" or cart_id is None:
                resp = _request(http, result, "POST", base + "/api/carts", timeout_s)
                cart_id = resp.json().get("cart_id") if resp is not None and resp.status_code == 201 else None
            elif step == "item" and skus[0] is not None:
                sku = skus[i % len(skus)]
                _request(
                    http, result, "POST", f"{base}/api/carts/{cart_id}/items", timeout_s, json={"sku": sku, "qty": 1}
                )
            elif step == "order":
                body = {"cart_id": cart_id, "payment_token": "tok_visa", "customer_id": "chaos-probe"}
                headers = {"Idempotency-Key": f"chaos-probe-{uuid.uuid4().hex}"}
                resp = _request(http, result, "POST", base + "/api/orders", timeout_s, json=body, headers=headers)
                if resp is not None and resp.status_code == 201:
                    result.confirmed_orders.append(str(resp.json().get("order_id")))
                cart_id = None
    return result
