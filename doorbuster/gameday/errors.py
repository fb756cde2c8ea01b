"""The game day's one error type: bad input a user can fix, exit 2 unless it says otherwise."""

from __future__ import annotations

from doorbuster.errors import DoorbusterError

__all__ = ["GamedayError"]


class GamedayError(DoorbusterError):
    """A game day that cannot start: its message names the file, key or value at fault."""
