"""The one exception base of the load part; each error names the file, key or value at fault."""

from __future__ import annotations

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_REFUSED, DoorbusterError

__all__ = ["LoadError", "ProfileError", "ShapeError", "UnsafeTargetError"]


class LoadError(DoorbusterError):
    """Anything the load stage refuses or cannot do."""

    exit_code = EXIT_BAD_INPUT


class ProfileError(LoadError):
    """A traffic profile that is missing, malformed or names unknown keys."""


class ShapeError(LoadError):
    """An unknown shape or a bad shape argument."""


class UnsafeTargetError(LoadError):
    """A target host the safety rules refuse (not loopback and not allowed explicitly)."""

    exit_code = EXIT_REFUSED
