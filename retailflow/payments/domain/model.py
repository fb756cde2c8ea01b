"""A payment: authorized or declined once, then captured or voided — never both, never twice."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Payment", "PaymentConflict", "PaymentsError", "ProviderSettings"]


class PaymentsError(Exception):
    """Base of every error the payments package raises on purpose."""


class PaymentConflict(PaymentsError):
    """The payment's state forbids the request (capture after void, a reused payment id, ...)."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class ProviderSettings:
    latency_ms: int = 10
    failure_rate: float = 0.0


@dataclass(frozen=True)
class Payment:
    payment_id: str
    order_id: str
    amount_cents: int
    status: str  # authorized, declined, captured, voided
    decline_reason: str | None = None

    def check_same_request(self, order_id: str, amount_cents: int) -> None:
        if (order_id, amount_cents) != (self.order_id, self.amount_cents):
            raise PaymentConflict(
                f"payment {self.payment_id} was authorized for order {self.order_id} and {self.amount_cents} cents",
                "payment_id_reused",
            )

    def can_capture(self) -> bool:
        """True when a capture must happen; False when it already did. Raises when it may not."""
        if self.status == "captured":
            return False
        if self.status != "authorized":
            raise PaymentConflict(
                f"payment {self.payment_id} is {self.status} and cannot be captured", "not_capturable"
            )
        return True

    def can_void(self) -> bool:
        """True when a void must happen; False when nothing is held. Raises after a capture."""
        if self.status == "captured":
            raise PaymentConflict(
                f"payment {self.payment_id} is already captured and cannot be voided", "already_captured"
            )
        return self.status == "authorized"

    def to_json(self) -> dict[str, object]:
        return {
            "payment_id": self.payment_id,
            "order_id": self.order_id,
            "amount_cents": self.amount_cents,
            "status": self.status,
            "decline_reason": self.decline_reason,
        }
