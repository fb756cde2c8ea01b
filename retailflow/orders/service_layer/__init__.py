"""Use cases: placement with idempotency, the checkout saga and its recovery."""
