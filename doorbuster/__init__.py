"""Doorbuster: load, chaos and SLO verdicts for e-commerce platforms."""

__version__ = "0.1.0"
