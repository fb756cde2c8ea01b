"""What one generator process knows about the run, kept on Locust's environment (no global)."""

from __future__ import annotations

from typing import Any

from doorbuster.load.pacing import Schedule
from doorbuster.load.plans import Demand, RatePlan
from doorbuster.load.profile import Profile
from doorbuster.load.recording import Outbox, RunRecorder

__all__ = ["LoadState", "load_state"]

_ATTRIBUTE = "doorbuster_load"


class LoadState:
    """One per environment (so one per generator process under `locust`)."""

    def __init__(self) -> None:
        self.role = "local"  # local, master or worker
        self.worker = "?"  # host:pid, names this process's rows
        self.profile: Profile | None = None
        self.shape: RatePlan | None = None  # None: closed model (no --shape)
        self.demand: Demand | None = None
        self.schedules: dict[str, Schedule] = {}
        self.outbox = Outbox()
        self.recorder: RunRecorder | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.final_sent = False
        self.finals: set[str] = set()
        self.expected_workers: set[str] = set()
        self.processes = 1
        self.ok = 0  # requests that passed their checks, and those that did not
        self.failed = 0
        self.last_error = ""
        self.abort_reason = ""
        self.fail_grace = 10.0

    @property
    def open_model(self) -> bool:
        return self.shape is not None


def load_state(environment: Any) -> LoadState:
    """The environment's LoadState, made on first use."""
    state = getattr(environment, _ATTRIBUTE, None)
    if state is None:
        state = LoadState()
        setattr(environment, _ATTRIBUTE, state)
    return state
