"""Payments: authorizations and idempotent captures through a simulated provider."""
