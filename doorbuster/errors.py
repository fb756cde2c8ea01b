"""Exit codes and the error base every part of the suite raises to reach the user."""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERRUPTED",
    "EXIT_NOGO",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNREACHABLE",
    "DoorbusterError",
]

EXIT_OK = 0
EXIT_NOGO = 1  # an SLO or an invariant was breached
EXIT_BAD_INPUT = 2  # missing or malformed input: could not evaluate
EXIT_INCONCLUSIVE = 3  # the planned load was not reached
EXIT_UNREACHABLE = 4  # the shop (or the runtime) did not answer
EXIT_REFUSED = 5  # a target the safety rules refuse (non-loopback without --allow-host)
EXIT_INTERRUPTED = 130


class DoorbusterError(Exception):
    """An error a user can act on: its message names the file, key or value at fault."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
