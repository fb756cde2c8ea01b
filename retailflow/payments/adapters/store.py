"""The payments store: payments, one row per capture (its primary key forbids a second), and the
provider's settings, shared by every replica."""

from __future__ import annotations

import time

from retailflow.common.db import Database, Row
from retailflow.payments.domain.model import Payment, PaymentConflict, ProviderSettings

__all__ = ["PaymentStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_id VARCHAR(64) PRIMARY KEY, order_id VARCHAR(64) NOT NULL, amount_cents BIGINT NOT NULL,
    status VARCHAR(20) NOT NULL, decline_reason VARCHAR(100), created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    payment_id VARCHAR(64) PRIMARY KEY, order_id VARCHAR(64) NOT NULL, amount_cents BIGINT NOT NULL,
    captured_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS provider_settings (
    id INTEGER PRIMARY KEY, latency_ms INTEGER NOT NULL, failure_rate DOUBLE PRECISION NOT NULL)
"""


def _payment(row: Row) -> Payment:
    return Payment(row["payment_id"], row["order_id"], int(row["amount_cents"]), row["status"], row["decline_reason"])


class PaymentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_schema(self) -> None:
        self.db.script(SCHEMA)
        self.db.execute(
            self.db.insert_ignore("provider_settings", ["id", "latency_ms", "failure_rate"]),
            (1, ProviderSettings().latency_ms, ProviderSettings().failure_rate),
        )

    def get(self, payment_id: str) -> Payment | None:
        row = self.db.fetchone("SELECT * FROM payments WHERE payment_id = ?", (payment_id,))
        return _payment(row) if row else None

    def record_authorization(self, payment: Payment) -> Payment:
        """Store the provider's answer; if a concurrent request stored one first, that one stands."""
        now = time.time()
        self.db.execute(
            self.db.insert_ignore(
                "payments",
                ["payment_id", "order_id", "amount_cents", "status", "decline_reason", "created_at", "updated_at"],
            ),
            (
                payment.payment_id,
                payment.order_id,
                payment.amount_cents,
                payment.status,
                payment.decline_reason,
                now,
                now,
            ),
        )
        stored = self.get(payment.payment_id)
        assert stored is not None
        return stored

    def capture(self, payment: Payment) -> Payment:
        with self.db.transaction():
            changed = self.db.execute(
                "UPDATE payments SET status = 'captured', updated_at = ? "
                "WHERE payment_id = ? AND status = 'authorized'",
                (time.time(), payment.payment_id),
            )
            if changed:
                self.db.execute(
                    "INSERT INTO captures (payment_id, order_id, amount_cents, captured_at) VALUES (?, ?, ?, ?)",
                    (payment.payment_id, payment.order_id, payment.amount_cents, time.time()),
                )
        current = self.get(payment.payment_id)
        assert current is not None
        if current.status != "captured":  # voided in between
            raise PaymentConflict(
                f"payment {payment.payment_id} is {current.status} and cannot be captured", "not_capturable"
            )
        return current

    def void(self, payment: Payment) -> Payment:
        self.db.execute(
            "UPDATE payments SET status = 'voided', updated_at = ? WHERE payment_id = ? AND status = 'authorized'",
            (time.time(), payment.payment_id),
        )
        current = self.get(payment.payment_id)
        assert current is not None
        current.can_void()  # raises if a capture won the race
        return current

    def captured_at(self, payment_id: str) -> float | None:
        row = self.db.fetchone("SELECT captured_at FROM captures WHERE payment_id = ?", (payment_id,))
        return float(row["captured_at"]) if row else None

    def settings(self) -> ProviderSettings:
        row = self.db.fetchone("SELECT latency_ms, failure_rate FROM provider_settings WHERE id = 1")
        return ProviderSettings(int(row["latency_ms"]), float(row["failure_rate"])) if row else ProviderSettings()

    def set_settings(self, settings: ProviderSettings) -> None:
        changed = self.db.execute(
            "UPDATE provider_settings SET latency_ms = ?, failure_rate = ? WHERE id = 1",
            (settings.latency_ms, settings.failure_rate),
        )
        if not changed:
            self.db.execute(
                self.db.insert_ignore("provider_settings", ["id", "latency_ms", "failure_rate"]),
                (1, settings.latency_ms, settings.failure_rate),
            )
