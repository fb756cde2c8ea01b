"""The one exception base of `reports`: every input problem becomes a sentence and exit code 2."""

from __future__ import annotations

from doorbuster.errors import EXIT_BAD_INPUT, DoorbusterError

__all__ = ["ReportError"]


class ReportError(DoorbusterError):
    """A run folder, SLO file or baseline the report cannot evaluate; the message names the culprit."""

    exit_code = EXIT_BAD_INPUT
