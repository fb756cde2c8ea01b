"""What one generator process knows about the run, kept on Locust's environment (no global)."""

from __future__ import annotations

from typing import Any

from doorbuster.load.pacing import Pacer, Pressure
from doorbuster.load.plans import Demand, RatePlan
from doorbuster.load.pool import JourneyPools
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
        # Plain Locust users (no PacedUser): a shape sizes them, their wait_time paces them (closed model)
        self.plain_users = False
        self.demand: Demand | None = None
        self.pacer: Pacer | None = None  # open model, while a test runs
        self.pool: JourneyPools | None = None  # the process that sizes the pool (local, master)
        # master: each worker's last report of how its users keep up, per journey
        self.worker_pressure: dict[str, dict[str, Pressure]] = {}
        self.outbox = Outbox()
        self.recorder: RunRecorder | None = None
        self.started_at: float | None = None
        self.stopping_at: float | None = None  # when the run was asked to end (no start after it)
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
        self.stop_timeout: float | None = None  # Locust's own, while the run's end grace replaces it

    @property
    def open_model(self) -> bool:
        return self.shape is not None and not self.plain_users

    def pressure(self) -> Pressure:
        """How the pool keeps up, over every journey of this process (master: of its workers)."""
        total = Pressure()
        for part in self.journey_pressure().values():
            total += part
        return total

    def journey_pressure(self) -> dict[str, Pressure]:
        """Per journey: late starts where none of its users is free (others cannot help), idle
        users where it has nothing late; a master adds up its workers' reports."""
        pressure: dict[str, Pressure] = {}
        if self.pacer is not None:
            for journey, part in self.pacer.pressure().items():
                pressure[journey] = Pressure(0, part.late) if part.idle == 0 else Pressure(part.idle, 0)
        for worker in self.worker_pressure.values():
            for journey, part in worker.items():
                pressure[journey] = pressure.get(journey, Pressure()) + part
        return pressure


def load_state(environment: Any) -> LoadState:
    """The environment's LoadState, made on first use."""
    state = getattr(environment, _ATTRIBUTE, None)
    if state is None:
        state = LoadState()
        setattr(environment, _ATTRIBUTE, state)
    return state
