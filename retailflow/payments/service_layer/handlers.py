"""Authorize, capture and void; each idempotent on the payment id. The provider is called outside
any transaction (never await inside one); the store settles races by its keys."""

from __future__ import annotations

from retailflow.payments.adapters.provider import SimulatedProvider
from retailflow.payments.adapters.store import PaymentStore
from retailflow.payments.domain.model import Payment, PaymentsError

__all__ = ["PaymentNotFound", "authorize", "capture", "void"]


class PaymentNotFound(PaymentsError):
    """No payment with that id."""


async def authorize(
    store: PaymentStore, provider: SimulatedProvider, payment_id: str, order_id: str, amount_cents: int, token: str
) -> Payment:
    existing = store.get(payment_id)
    if existing is not None:
        existing.check_same_request(order_id, amount_cents)
        return existing
    reason = await provider.authorize(store.settings(), amount_cents, token)
    status = "declined" if reason else "authorized"
    stored = store.record_authorization(Payment(payment_id, order_id, amount_cents, status, reason))
    stored.check_same_request(order_id, amount_cents)
    return stored


def _get(store: PaymentStore, payment_id: str) -> Payment:
    payment = store.get(payment_id)
    if payment is None:
        raise PaymentNotFound(f"no payment {payment_id!r}")
    return payment


async def capture(store: PaymentStore, provider: SimulatedProvider, payment_id: str) -> Payment:
    payment = _get(store, payment_id)
    if not payment.can_capture():
        return payment  # already captured: the same answer again
    await provider.settle(store.settings())
    return store.capture(payment)


async def void(store: PaymentStore, provider: SimulatedProvider, payment_id: str) -> Payment:
    payment = _get(store, payment_id)
    if not payment.can_void():
        return payment
    await provider.settle(store.settings())
    return store.void(payment)
