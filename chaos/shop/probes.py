"""Probes of what users and the business care about: the shop's answers, its integrity, legacy.

Probes that measure return a dict with a `violations` count, so a hypothesis checks them
with `{"type": "range", "target": "violations", "range": [0, 0]}` and the journal keeps
the numbers. In a method, `must_hold: true` makes a breach fail the activity instead.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import requests
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from doorbuster.chaos.arguments import choice, fraction, seconds
from doorbuster.chaos.interrupts import activity
from doorbuster.chaos.platforms import platform_for
from doorbuster.chaos.shop import traffic

__all__ = ["experiment_applies", "integrity_audit", "legacy_converged", "notifications_caught_up", "synthetic_traffic"]

# Orders this chaos process's own checkout probes got confirmed, for `notifications_caught_up`.
# Chaos Toolkit gives an activity no way to read an earlier one's output; one experiment runs
# per process, so the process is the right scope.
CONFIRMED_BY_PROBES: list[str] = []
# How many of an audit's violations `integrity_audit` keeps in the journal.
MAX_PROBLEMS = 10
# `{page}` and `{per_page}` vary per request, so that caches do not answer for a service that is down.
DEFAULT_PATHS = [
    "/",
    "/api/products?per_page={per_page}&page={page}",
    "/api/search?q=shirt&per_page={per_page}&page={page}",
    "/api/categories",
]


def _storefront(url: str, configuration: Configuration) -> str:
    base = url or str((configuration or {}).get("storefront_url") or "") or platform_for(configuration).storefront_url()
    return base.rstrip("/")


def _held(result: dict[str, Any], must_hold: bool, what: str) -> dict[str, Any]:
    if must_hold and result["violations"]:
        seen = result.get("first_errors") or []
        errors = f"; first errors: {'; '.join(map(str, seen[:3]))}" if seen else ""
        raise ActivityFailed(f"{what}: {'; '.join(result['breaches'])}{errors}")
    return result


@activity
def synthetic_traffic(
    journey: str = "browse",
    duration_s: float = 3.0,
    rate_per_s: float = 5.0,
    max_error_rate: float = 0.0,
    max_p95_ms: float = 1000.0,
    timeout_s: float = 2.0,
    paths: list[str] | None = None,
    url: str = "",
    must_hold: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Send the probe's own light traffic to the storefront for `duration_s` at `rate_per_s`
    and judge it: `journey` `browse` GETs `paths` (pages and API reads), `checkout` places
    orders (402 declined and 409 sold out are answers, not errors). A path may hold `{page}`
    and `{per_page}`, which vary per request (a new cache key each time). The storefront is `url`,
    else the configuration's `storefront_url`, else what the platform says.

    Returns `{"requests", "errors", "error_rate", "p95_ms", "first_errors", "breaches",
    "violations"}`; `violations` counts the limits breached (`max_error_rate`, `max_p95_ms`).
    """
    journey = choice(journey, "journey", ("browse", "checkout"))
    duration = seconds(duration_s, "duration_s", minimum=0.2, maximum=600)
    rate = seconds(rate_per_s, "rate_per_s", minimum=0.2, maximum=50)
    timeout = seconds(timeout_s, "timeout_s", minimum=0.1, maximum=60)
    max_rate = fraction(max_error_rate, "max_error_rate")
    max_p95 = seconds(max_p95_ms, "max_p95_ms", minimum=1, maximum=600_000)
    base = _storefront(url, configuration)
    if journey == "browse":
        result = traffic.browse(base, list(paths or DEFAULT_PATHS), duration, rate, timeout)
    else:
        result = traffic.checkout(base, duration, rate, timeout)
        CONFIRMED_BY_PROBES.extend(result.confirmed_orders)
    breaches = []
    if result.error_rate > max_rate:
        breaches.append(
            f"error rate {result.error_rate:.1%} above the limit {max_rate:.1%} ({len(result.errors)} of "
            f"{result.requests} requests failed)"
        )
    if result.p95_ms > max_p95:
        breaches.append(f"p95 {result.p95_ms:.0f} ms over {max_p95:g} ms")
    answer = {
        "journey": journey,
        "requests": result.requests,
        "errors": len(result.errors),
        "error_rate": round(result.error_rate, 4),
        "p95_ms": result.p95_ms,
        "first_errors": result.errors[:5],
        "confirmed_orders": len(result.confirmed_orders),
        "breaches": breaches,
        "violations": len(breaches),
    }
    return _held(answer, must_hold, f"synthetic {journey} traffic to {base}")


def _ledger(ledger_path: str, configuration: Configuration) -> tuple[list[dict[str, Any]], str]:
    path = ledger_path
    run_dir = str((configuration or {}).get("run_dir") or "")
    if not path and run_dir:
        candidate = Path(run_dir) / "ledger.csv"
        path = str(candidate) if candidate.is_file() else ""
    if not path:
        return [], "no ledger: orders confirmed to clients are not cross-checked"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f)), path
    except OSError as exc:
        raise ActivityFailed(f"cannot read the ledger {path}: {exc.strerror or exc}") from None


@activity
def integrity_audit(
    settle_s: float = 10.0,
    ledger_path: str = "",
    timeout_s: float = 120.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Run the integrity audit (no lost order, no oversell, no double charge, legacy converged,
    projections replay), re-checking for up to `settle_s` while sagas and the dual-write
    finish. The ledger of confirmed orders is `ledger_path`, else `<run_dir>/ledger.csv` when
    the configuration names a `run_dir`.

    Returns `{"ok", "broken": [invariant, ...], "violations", "problems", "looks", "ledger",
    "seconds"}`; `problems` lists the last look's first violations (the SKU or order and what
    is wrong), so a journal says what broke, not just which invariant; `looks` counts the audits.
    """
    settle = seconds(settle_s, "settle_s", maximum=600)
    timeout = seconds(timeout_s, "timeout_s", minimum=1, maximum=3600)
    platform = platform_for(configuration)
    rows, source = _ledger(ledger_path, configuration)
    started = time.monotonic()
    looks = 0
    while True:
        audit = platform.audit(rows, timeout_s=timeout)
        looks += 1
        broken = {i["name"]: int(i["violations"]) for i in audit.get("invariants", []) if not i.get("ok")}
        if not broken or time.monotonic() - started >= settle:
            return {
                "ok": not broken,
                "broken": sorted(broken),
                "violations": sum(broken.values()),
                "problems": _problems(audit),
                "looks": looks,
                "ledger": source,
                "orders_in_ledger": len(rows),
                "seconds": round(time.monotonic() - started, 3),
            }
        time.sleep(0.5)


def _problems(audit: dict[str, Any]) -> list[dict[str, Any]]:
    """The first violations the audit lists (its notes left out), each naming its invariant."""
    found = [
        {"invariant": inv.get("name"), **detail}
        for inv in audit.get("invariants", [])
        if not inv.get("ok")
        for detail in inv.get("details", [])
        if isinstance(detail, dict) and "note" not in detail
    ]
    return found[:MAX_PROBLEMS]


@activity
def legacy_converged(
    within_s: float = 10.0,
    must_hold: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Wait up to `within_s` for the legacy store to hold the same stock as inventory, row for
    row (the audit's `legacy_convergence` invariant). Call it right after a dual-write fault
    heals: it measures the time to converge.

    Returns `{"converged", "seconds", "divergent", "violations"}`.
    """
    within = seconds(within_s, "within_s", maximum=3600)
    platform = platform_for(configuration)
    started = time.monotonic()
    while True:
        audit = platform.audit([], timeout_s=max(30.0, within))
        verdict = next((i for i in audit.get("invariants", []) if i.get("name") == "legacy_convergence"), None)
        if verdict is None:
            raise ActivityFailed("the audit has no legacy_convergence invariant: the shop has no legacy store")
        waited = round(time.monotonic() - started, 3)
        divergent = int(verdict["violations"])
        if not divergent or waited >= within:
            answer = {
                "converged": not divergent,
                "seconds": waited,
                "divergent": divergent,
                "breaches": [f"{divergent} rows still differ after {waited:g} s"] if divergent else [],
                "violations": 1 if divergent else 0,
            }
            return _held(answer, must_hold, f"legacy did not converge within {within:g} s")
        time.sleep(0.3)


@activity
def experiment_applies(
    storage_profile: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """
    Whether this experiment applies to the shop under test: with `storage_profile`
    `services`, only a shop on networked stores (an embedded shop has no cache link to cut).

    Returns `{"applies", "reason", "violations"}`; `doorbuster chaos run` reports an experiment
    whose check says it does not apply as skipped, with the reason.
    """
    wanted = choice(storage_profile, "storage_profile", ("", "embedded", "services"))
    actual = platform_for(configuration).storage_profile() if wanted else ""
    applies = not wanted or actual == wanted
    reason = "" if applies else f"applies to the {wanted} storage profile only; this shop runs the {actual} profile"
    return {"applies": applies, "reason": reason, "violations": 0 if applies else 1}


@activity
def notifications_caught_up(
    within_s: float = 30.0,
    must_hold: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Wait up to `within_s` until every order this experiment's checkout probes got confirmed
    has its notification (notifications consume order events from the outbox, so orders
    placed while notifications were down must catch up once it is back).

    Returns `{"orders", "notified", "missing", "seconds", "violations"}`.
    """
    within = seconds(within_s, "within_s", maximum=3600)
    orders = list(dict.fromkeys(CONFIRMED_BY_PROBES))
    if not orders:
        raise ActivityFailed("no order to look for: no checkout probe of this experiment got an order confirmed")
    base = platform_for(configuration).service_url("notifications").rstrip("/")
    started = time.monotonic()
    missing = orders
    with requests.Session() as http:
        while True:
            missing = [order for order in missing if not _notified(http, base, order)]
            waited = round(time.monotonic() - started, 3)
            if not missing or waited >= within:
                break
            time.sleep(0.5)
    answer = {
        "orders": len(orders),
        "notified": len(orders) - len(missing),
        "missing": missing[:10],
        "seconds": waited,
        "breaches": [f"{len(missing)} of {len(orders)} orders without a notification after {waited:g} s"]
        if missing
        else [],
        "violations": len(missing),
    }
    return _held(answer, must_hold, "notifications did not catch up")


def _notified(http: requests.Session, base: str, order_id: str) -> bool:
    try:
        resp = http.get(f"{base}/notifications", params={"order_id": order_id}, timeout=2)
    except requests.RequestException:
        return False
    if resp.status_code != 200:
        return False
    body = resp.json()
    items = body.get("items", body) if isinstance(body, dict) else body
    return bool(items)
