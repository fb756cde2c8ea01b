"""Payments: idempotent authorization, one capture per payment, void rules, provider settings."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from retailflow.common.db import Database
from retailflow.payments import audit_view
from retailflow.payments.adapters.provider import SimulatedProvider
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.domain.model import Payment, PaymentConflict, ProviderSettings
from retailflow.payments.service_layer import handlers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PaymentStore]:
    s = PaymentStore(Database(f"sqlite:///{tmp_path / 'payments.db'}").connect())
    s.create_schema()
    s.set_settings(ProviderSettings(latency_ms=0, failure_rate=0.0))
    yield s
    s.db.close()


provider = SimulatedProvider(random.Random(7))


def authorize(store: PaymentStore, pid: str = "p-1", amount: int = 500, token: str = "tok_visa") -> Payment:
    return asyncio.run(handlers.authorize(store, provider, pid, "o-1", amount, token))


def test_authorizing_twice_returns_the_first_answer_and_stores_one_payment(store: PaymentStore) -> None:
    first = authorize(store)
    assert first.status == "authorized"
    assert authorize(store) == first
    assert store.db.fetchone("SELECT COUNT(*) AS n FROM payments")["n"] == 1


def test_a_decline_token_is_declined_and_the_decline_is_replayed(store: PaymentStore) -> None:
    declined = authorize(store, token="tok_decline")
    assert (declined.status, declined.decline_reason) == ("declined", "card_declined")
    assert authorize(store, token="tok_visa").status == "declined"  # the first answer stands


def test_reusing_a_payment_id_for_another_amount_is_a_conflict(store: PaymentStore) -> None:
    authorize(store, amount=500)
    with pytest.raises(PaymentConflict, match="was authorized for order o-1 and 500 cents") as err:
        authorize(store, amount=501)
    assert err.value.code == "payment_id_reused"


def test_capturing_twice_charges_once(store: PaymentStore) -> None:
    authorize(store)
    a = asyncio.run(handlers.capture(store, provider, "p-1"))
    b = asyncio.run(handlers.capture(store, provider, "p-1"))
    assert a.status == b.status == "captured"
    assert audit_view.captures(store.db) == [{"payment_id": "p-1", "order_id": "o-1", "captures": 1, "amount": 500}]


def test_concurrent_captures_of_one_payment_leave_one_capture_row(store: PaymentStore) -> None:
    authorize(store)
    store.set_settings(ProviderSettings(latency_ms=30, failure_rate=0.0))

    async def race() -> None:
        await asyncio.gather(*(handlers.capture(store, provider, "p-1") for _ in range(5)))

    asyncio.run(race())
    assert [c["captures"] for c in audit_view.captures(store.db)] == [1]


def test_a_voided_payment_cannot_be_captured_and_a_captured_one_cannot_be_voided(store: PaymentStore) -> None:
    authorize(store, pid="v")
    assert asyncio.run(handlers.void(store, provider, "v")).status == "voided"
    assert asyncio.run(handlers.void(store, provider, "v")).status == "voided"
    with pytest.raises(PaymentConflict, match="payment v is voided and cannot be captured"):
        asyncio.run(handlers.capture(store, provider, "v"))
    authorize(store, pid="c")
    asyncio.run(handlers.capture(store, provider, "c"))
    with pytest.raises(PaymentConflict, match="payment c is already captured and cannot be voided"):
        asyncio.run(handlers.void(store, provider, "c"))


def test_an_unknown_payment_is_not_found(store: PaymentStore) -> None:
    with pytest.raises(handlers.PaymentNotFound, match="no payment 'nope'"):
        asyncio.run(handlers.capture(store, provider, "nope"))


def test_the_failure_rate_declines_that_share_of_authorizations(store: PaymentStore) -> None:
    store.set_settings(ProviderSettings(latency_ms=0, failure_rate=0.5))
    statuses = [authorize(store, pid=f"p{i}").status for i in range(200)]
    assert 60 < statuses.count("declined") < 140
    store.set_settings(ProviderSettings(latency_ms=0, failure_rate=1.0))
    assert authorize(store, pid="all-fail").decline_reason == "provider_declined"


def test_provider_settings_persist_in_the_store_for_every_replica(store: PaymentStore) -> None:
    store.set_settings(ProviderSettings(latency_ms=250, failure_rate=0.1))
    other = PaymentStore(Database(store.db.url).connect())
    assert other.settings() == ProviderSettings(250, 0.1)
    other.db.close()
