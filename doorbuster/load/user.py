"""PacedUser: a FastHttpUser whose iterations start when the plan says, not when it is free.

A journey subclasses it, names itself (`journey`), states its expected cost
(`requests_per_iteration`, `think_pauses`) and implements `run_journey()`. The run's profile
is `self.profile`; `self.think()` pauses as a shopper does; `self.record_order()` adds to
the ledger. Without a shape (closed model) a user starts its next iteration when it is free.

Locust stops users when the pool shrinks and when the run ends, by default by killing them
where they are: a request in flight vanished from every record (ours and Locust's), though
its iteration had started. So a shrink only ends idle users (a busy one finishes its
iteration first), the run's end gives iterations a grace (doorbuster.load.wiring), and a user
killed mid-request still records that request, as interrupted.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import gevent
from gevent import GreenletExit
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser
from locust.user.task import LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING

import doorbuster.load.wiring  # noqa: F401  (a locustfile with journeys gets the wiring)
from doorbuster.load.pacing import TICKS, Slot
from doorbuster.load.profile import Profile
from doorbuster.load.state import load_state

__all__ = ["PacedUser"]

_user_ids = itertools.count()
_closed_ids = itertools.count()
_THINK_GRID_S = TICKS[-1]
# Locust's own control flow passes through a journey untouched.
_LOCUST_CONTROL = (StopUser, InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)


class Interrupted(Exception):
    """The run ended (or the user was killed) before the shop answered this request."""


class _TrackedSession(FastHttpSession):
    """A FastHttpSession that knows the request it waits on: (method, name, start) or None."""

    in_flight: tuple[str, str, float] | None = None

    def request(self, method: str, url: str, name: str | None = None, **kwargs: Any) -> Any:
        self.in_flight = (method, name or self.request_name or url, time.time())
        try:
            response = super().request(method, url, name=name, **kwargs)
        except GreenletExit:
            raise  # killed while waiting: still in flight, for the user to record
        except BaseException:
            self.in_flight = None
            raise
        self.in_flight = None
        return response


class PacedUser(FastHttpUser):
    abstract = True
    journey: ClassVar[str] = ""
    requests_per_iteration: ClassVar[float] = 1.0  # expected, sizes the user pool
    think_pauses: ClassVar[float] = 0.0  # expected number of think pauses per iteration

    def __init__(self, environment: Any) -> None:
        host = environment.host or self.host
        if host:
            # the web UI's form may hand over the storefront URL with its trailing slash
            self.host = host.rstrip("/")
        super().__init__(environment)
        # the same session, one attribute more (FastHttpUser builds it from a dozen settings)
        self.client.__class__ = _TrackedSession
        self.state = load_state(environment)
        # Set up before any user exists (init, or a worker's test_start); if that failed, it was
        # reported and a journey touching the profile fails visibly.
        self.profile: Profile = self.state.profile  # type: ignore[assignment]
        seed = self.profile.seed if self.profile is not None else 0
        self.rng = random.Random(f"{seed}/{self.state.worker}/{self.journey}/{next(_user_ids)}")
        self._ctx: dict[str, Any] = {}
        self._slot: Slot | None = None

    def context(self) -> dict[str, Any]:
        return self._ctx

    def _next_start(self) -> Slot | None:
        pacer = self.state.pacer
        return pacer.next_start(self.journey) if pacer is not None else None

    def wait_time(self) -> float:
        """Until the plan wants this user's next iteration: the pacer paces, not the user.

        Waiting here, in Locust's wait (the user counts as waiting, so stopping it is immediate),
        rather than inside the task halves Locust's cost per iteration."""
        if self.state.shape is None:  # closed model: a shopper pauses, then comes back
            return self._think_time()
        self._slot = self._next_start()
        return 0.0 if self._slot is not None else 0.2  # no plan (yet, or any more): idle

    def stop(self, force: bool = False) -> bool:
        """Locust stops users when the pool shrinks (killing them by default): while the run goes
        on, only an idle user ends at once; a busy one ends after its iteration. At the run's end,
        Locust's rule (the grace, then a kill).

        An idle user is killed by a callback that the loop runs later: a wait ending first would
        start an iteration whose first request the kill then cuts off in flight (a failure on a
        healthy shop). Marked as stopping first, a wait that ends first ends the user instead,
        by Locust's own check after a wait."""
        if not force and self._state == LOCUST_STATE_STOPPING:
            return False  # asked already (a shrink and the run's end can both ask): it is ending
        if self.state.stopping_at is None:
            force = False
        if force or self._state in (None, LOCUST_STATE_WAITING):
            self._state = LOCUST_STATE_STOPPING
            self._group.killone(self._greenlet)
            return True
        return bool(super().stop(force=False))

    def on_stop(self) -> None:
        # stopped after its start came: the intended start is not lost, someone serves it
        pacer = self.state.pacer
        if self._slot is not None and pacer is not None:
            pacer.schedules[self.journey].give_back(self._slot)
        self._slot = None

    @task
    def iterate(self) -> None:
        if self.state.shape is None:
            self._run_closed()
            return
        if self._slot is None:
            # a new user's first task, or no plan: wait for a start in Locust's wait (as a waiting
            # user, so that a shrink or the run's end stops it at once)
            return
        slot, self._slot = self._slot, None
        started = time.time()
        iteration = f"{self.state.worker}/{self.journey}/{slot.seq}"
        lag = max(0.0, started - slot.intended)
        self._ctx = {"journey": self.journey, "iteration": iteration, "lag_s": lag}
        try:
            self._run_recording_crashes(started)
        finally:
            self.state.outbox.rows["iterations"].append(
                (iteration, self.journey, self.state.worker, slot.intended, started, time.time(), lag * 1000, False)
            )
            self._ctx = {}

    def _run_closed(self) -> None:
        """Closed model (no --shape): an iteration whenever this user is free; no intended start."""
        started = time.time()
        iteration = f"{self.state.worker}/{self.journey}/c{next(_closed_ids)}"
        self._ctx = {"journey": self.journey, "iteration": iteration, "lag_s": None}
        try:
            self._run_recording_crashes(started)
        finally:
            self.state.outbox.rows["iterations"].append(
                (iteration, self.journey, self.state.worker, None, started, time.time(), None, False)
            )
            self._ctx = {}

    def _run_recording_crashes(self, started: float) -> None:
        try:
            self.run_journey()
        except GreenletExit:
            self._record_interrupted()
            raise
        except _LOCUST_CONTROL:
            raise
        except Exception as exc:
            # A journey that raises (a bad URL, a bug) must show as a failure, not as silence.
            self._record_failure("JOURNEY", f"{self.journey} journey", started, exc)
            raise

    def _record_interrupted(self) -> None:
        """Killed while waiting on the shop (past the run's grace): the request was sent, so it is
        recorded, as failed and unanswered, its latency the time it waited."""
        in_flight = getattr(self.client, "in_flight", None)
        if in_flight is None:
            return
        method, name, sent = in_flight
        self.client.in_flight = None
        self._record_failure(
            method, name, sent, Interrupted("the user was stopped (the run ended) before the shop answered")
        )

    def _record_failure(self, method: str, name: str, since: float, exc: BaseException) -> None:
        """A failed request with no answer, in this iteration, its latency the time since `since`."""
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=(time.time() - since) * 1000,
            response_length=0,
            response=None,
            context=self._ctx,
            exception=exc,
            start_time=since,
            url="",
        )

    def run_journey(self) -> None:
        raise NotImplementedError

    def _think_time(self) -> float:
        if self.profile.think_max_s <= 0:
            return 0.0
        return self.rng.uniform(self.profile.think_min_s, self.profile.think_max_s)

    def think(self) -> None:
        """A shopper's pause between two steps (the profile's think time).

        It ends on a grid of ticks, so that pauses ending close together share one wake-up of
        the generator (the pause is random anyway; no latency is measured across it)."""
        pause = self._think_time()
        if pause > 0:
            now = time.time()
            gevent.sleep(math.ceil((now + pause) / _THINK_GRID_S) * _THINK_GRID_S - now)

    def record_order(
        self, order_id: str, idempotency_key: str, items: Sequence[dict[str, Any]], total_cents: int
    ) -> None:
        """Add an order the shop confirmed to this client to the ledger."""
        self.state.outbox.rows["ledger"].append(
            (order_id, idempotency_key, json.dumps(list(items)), int(total_cents), time.time(), self.journey)
        )
