"""`doorbuster gameday`: load and chaos on one timeline, stop conditions, live progress, verdict."""

from __future__ import annotations

from doorbuster.gameday.cli import register

__all__ = ["register"]
