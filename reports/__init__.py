"""The verdict of a run folder: pandas evaluation of SLOs, charts, HTML, JUnit and an exit code.

Stages flow load → transform → evaluate → plot → render, each in its own module; the run
folder (docs/contracts.md, section 1) is the only input.
"""

from __future__ import annotations

from doorbuster.reports.errors import ReportError

__all__ = ["ReportError"]
