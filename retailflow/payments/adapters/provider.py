"""The simulated payment provider: a network call's latency and a failure rate, both set at
runtime (through the store, so every replica sees the same provider)."""

from __future__ import annotations

import asyncio
import random

from retailflow.payments.domain.model import ProviderSettings

__all__ = ["DECLINE_TOKENS", "SimulatedProvider"]

# Test cards: these tokens are always declined, whatever the failure rate.
DECLINE_TOKENS = frozenset({"tok_decline", "tok_chargeDeclined"})


class SimulatedProvider:
    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()

    async def _wait(self, settings: ProviderSettings) -> None:
        if settings.latency_ms:
            # ±20% jitter: a real provider is never perfectly steady.
            await asyncio.sleep(settings.latency_ms * self.rng.uniform(0.8, 1.2) / 1000)

    async def authorize(self, settings: ProviderSettings, amount_cents: int, token: str) -> str | None:
        """None when approved, else the decline reason."""
        await self._wait(settings)
        if token in DECLINE_TOKENS:
            return "card_declined"
        if self.rng.random() < settings.failure_rate:
            return "provider_declined"
        return None

    async def settle(self, settings: ProviderSettings) -> None:
        """A capture or void: the provider's latency; an approved authorization always settles."""
        await self._wait(settings)
