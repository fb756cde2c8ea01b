"""The public API for writing journeys against any shop (docs/examples/ has one for a shop
that is not RetailFlow; scenarios/ are RetailFlow's, built on exactly these names).

    from doorbuster.journeys import PacedUser, business_answer, check_json, confirmed_order

    class Buyer(PacedUser):
        journey = "buy"                 # the profile's mix names it
        requests_per_iteration = 3      # expected; sizes the user pool
        think_pauses = 1                # expected think pauses per iteration

        def run_journey(self) -> None:  # one iteration, started when the plan says
            ...
            self.think()                # a shopper's pause (the profile's think time)

- `PacedUser`: a FastHttpUser whose iterations start at their intended start (open model,
  with `doorbuster load --shape ...`); each request's `intended_ts` is kept, so latency is
  measured from when the request should have started (corrected for coordinated omission).
  `self.profile` is the run's traffic profile, `self.rng` a seeded random generator.
- `confirmed_order(user, resp, ...)`: an order the shop confirmed goes to the ledger
  (ledger.csv), which the shop's audit checks, and the answer's row carries its id.
- `business_answer(resp, reason)`: a correct answer that sells nothing (sold out, payment
  declined) counts as a success, not as an error.
- `check_json`, `check_text`, `text_of`: check an answer's status and body (a 200 with the
  wrong body is a failure).

Importing this module loads Locust (gevent patches the standard library first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)

from doorbuster.load.user import PacedUser

__all__ = ["PacedUser", "business_answer", "check_json", "check_text", "confirmed_order", "text_of"]


def text_of(resp: Any) -> str:
    """The body as text. Not `resp.text`: without a charset in Content-Type (JSON) Locust's
    FastResponse guesses the encoding with charset_normalizer, which costs more CPU than the
    rest of the request; the body is taken as UTF-8."""
    return (resp.content or b"").decode("utf-8", "replace")


def check_json(resp: Any, status: int = 200, *keys: str) -> Any:
    """The JSON body of an answer with this status and these keys, or None (request failed)."""
    if resp.status_code != status:
        resp.failure(f"status {resp.status_code}, expected {status}: {text_of(resp)[:120]}")
        return None
    try:
        body = json.loads(resp.content or b"")
    except ValueError:
        resp.failure(f"body is not JSON: {text_of(resp)[:80]!r}")
        return None
    if keys and (not isinstance(body, dict) or any(k not in body for k in keys)):
        resp.failure(f"body lacks {', '.join(k for k in keys if not isinstance(body, dict) or k not in body)}")
        return None
    resp.success()
    return body


def check_text(resp: Any, *needles: str, status: int = 200, page: str | None = None) -> str | None:
    """The text of an answer with this status that shows every needle, or None (request failed).
    With `page`, it must also be that kind of page (`data-page="<page>"`), and a failure names it."""
    where = f"{page} page: " if page else ""
    if resp.status_code != status:
        resp.failure(f"{where}status {resp.status_code}, expected {status}")
        return None
    text = text_of(resp)
    if page and f'data-page="{page}"' not in text:
        resp.failure(f'{where}body is not a {page} page (no data-page="{page}")')
        return None
    for needle in needles:
        if needle not in text:
            resp.failure(f"{where}body lacks {needle!r}")
            return None
    resp.success()
    return text


def business_answer(resp: Any, reason: str) -> None:
    """Mark `resp` (a `catch_response=True` answer) as correct: the shop said no on purpose.

    `reason` names the answer (e.g. "sold_out"); a sold-out doorbuster is the shop working,
    and counting it as an error would make the error-rate SLO judge the stock, not the shop."""
    if not reason:
        raise ValueError("business_answer needs a reason, e.g. 'sold_out'")
    resp.success()


def confirmed_order(
    user: PacedUser,
    resp: Any,
    order_id: str,
    idempotency_key: str,
    items: Sequence[dict[str, Any]],
    total_cents: int,
) -> None:
    """Record an order the shop confirmed to this client: its row of requests.parquet carries
    `order_id`, and ledger.csv gets the order (items as [{"sku", "qty"}], total in cents)."""
    resp.request_meta["context"]["order_id"] = order_id
    user.record_order(order_id, idempotency_key, items, total_cents)
