"""Doorbuster: load, chaos and SLO verdicts for e-commerce platforms."""

__version__ = "0.1.0"

from pathlib import Path as _Path

from doorbuster import _checkout

_checkout.install(_Path(__file__).parent)
