"""The paced schedule: when the plan wants each journey iteration to start (open model).

Each generator process owns one Schedule per journey and one Pacer for all of them.
Intended starts follow the planned iteration rate, independently of how fast the shop
answers. The Pacer wakes once per tick and hands every start due by then to the users
waiting for one: one wake-up serves many starts, where a timer per start would cost the
generator about one wake-up per request (`python3 -m bench load`). A start's intended time
is its tick on the grid, so latency measured from it stays exact; the tick is 5-40 ms, a
grouping well inside the jitter of real shoppers' arrivals.

When every user is busy (a slow shop, a saturated generator) due starts wait in a backlog
and are served late, their lag recorded; the pool grows (doorbuster.load.pool) and the ones
never served before the run ends are recorded as missed: coordinated omission stays visible.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable

import gevent
from gevent.event import AsyncResult

__all__ = ["END_CUT_S", "RATE_LOOKUP_S", "Pacer", "Pressure", "Schedule", "Slot", "choose_tick"]

TICKS = (0.005, 0.01, 0.02, 0.04)  # nested grids: each divides the next
STARTS_PER_WAKE = 3.0  # the tick is chosen to serve about this many starts per wake-up
_MAX_SKIP_S = 0.1  # an idle pacer still looks at the plan this often (a ramp may begin)
END_CUT_S = _MAX_SKIP_S  # starts due this close to the run's end are cut by it, not missed (Pacer.close)
# The plan's rate is looked up once per this many seconds, not every tick: a shape changes its
# rate over seconds, and a lookup costs more than the rest of a tick (`python3 -m bench load`).
RATE_LOOKUP_S = 0.05


class Slot:
    """One intended iteration start, handed to one user."""

    __slots__ = ("intended", "seq")

    def __init__(self, seq: int, intended: float) -> None:
        self.seq = seq
        self.intended = intended


class Schedule:
    """Intended starts of one journey in one process.

    `rate_at(elapsed)` is the journey's planned iteration rate (per second, whole run) at
    `elapsed` seconds after `t0`, or None once the plan has ended; `share` is this process's
    part of it (1/number of generator processes); `phase` (0..1) staggers the processes: it is
    the part of a start already counted at t0.
    """

    def __init__(
        self,
        rate_at: Callable[[float], float | None],
        t0: float,
        *,
        share: float = 1.0,
        phase: float = 0.5,
    ) -> None:
        self._rate_at = rate_at
        self._t0 = t0
        self._share = share
        self._owed = phase  # starts counted but not yet whole
        self._seq = itertools.count()
        self.backlog: deque[Slot] = deque()  # due, not taken: served oldest first
        self.rate = 0.0  # this process's iteration rate at the last tick
        self.ended = False
        self._rate_until = -math.inf  # elapsed seconds until which self.rate holds

    def accrue(self, at: float, dt: float) -> None:
        """Count the starts the plan wants in the `dt` seconds up to `at`; they are due at `at`."""
        if self.ended:
            return
        # to the microsecond: at and t0 are epoch seconds (a float step of ~2e-7 s there), and a
        # plan ending at 1.0 s asked at 0.9999998 s gave one tick of starts more
        elapsed = round(at - dt - self._t0, 6)
        if elapsed >= self._rate_until - 1e-9:
            rate = self._rate_at(elapsed)
            if rate is None:
                self.ended = True
                self.rate = 0.0
                return
            self.rate = rate * self._share
            # on a grid of RATE_LOOKUP_S, so that a step of the plan on it is seen at once
            self._rate_until = (math.floor(elapsed / RATE_LOOKUP_S + 1e-9) + 1) * RATE_LOOKUP_S
        self._owed += self.rate * dt
        while self._owed >= 1.0 - 1e-9:  # sums of tenths are not exact
            self._owed -= 1.0
            self.backlog.append(Slot(next(self._seq), at))

    def ticks_until_due(self, dt: float) -> float:
        """How many ticks of `dt` until the next start, at the current rate (inf if none)."""
        if self.backlog:
            return 0.0
        if self.ended or self.rate <= 0:
            return math.inf
        return math.ceil((1.0 - self._owed) / (self.rate * dt))

    def take(self) -> Slot | None:
        return self.backlog.popleft() if self.backlog else None

    def give_back(self, slot: Slot) -> None:
        """A user stopped before starting its slot: someone else must serve it, first."""
        self.backlog.appendleft(slot)

    def unserved(self) -> list[Slot]:
        """Close the schedule: every start that was due and never taken."""
        self.ended = True
        missed, self.backlog = list(self.backlog), deque()
        return missed


class Pressure:
    """How the user pool keeps up: users waiting for a start, and starts waiting for a user."""

    __slots__ = ("idle", "late")

    def __init__(self, idle: int = 0, late: int = 0) -> None:
        self.idle = idle
        self.late = late

    def __add__(self, other: Pressure) -> Pressure:
        return Pressure(self.idle + other.idle, self.late + other.late)


def choose_tick(rate: float) -> float:
    """The tick for this many starts per second: about STARTS_PER_WAKE starts per wake-up."""
    wanted = STARTS_PER_WAKE / rate if rate > 0 else TICKS[-1]
    return max([t for t in TICKS if t <= wanted], default=TICKS[0])


class Pacer:
    """Hands due starts to waiting users, one wake-up per tick for all journeys of a process."""

    def __init__(self, schedules: dict[str, Schedule], t0: float) -> None:
        self.schedules = schedules
        self._waiting: dict[str, deque[AsyncResult]] = {journey: deque() for journey in schedules}
        self._t0 = t0
        # The last grid point counted, as a whole number of the finest tick after t0: a sum of
        # float ticks on epoch seconds drifts off the grid by ~1e-7 s a tick (1 ms in 20 minutes).
        self._units = 0
        self._tick = TICKS[-1]
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def next_start(self, journey: str) -> Slot | None:
        """Block until this journey's next start is due; None once the plan has ended."""
        schedule = self.schedules.get(journey)
        if schedule is None:
            return None
        slot = schedule.take()
        if slot is not None or schedule.ended:
            return slot  # behind schedule: a start was already waiting for a user
        waiter = AsyncResult()
        queue = self._waiting[journey]
        queue.append(waiter)
        try:
            return waiter.get()  # type: ignore[no-any-return]
        except BaseException:
            # stopped while waiting (Locust kills waiting users): the start it got is not lost
            if waiter.ready() and waiter.value is not None:
                schedule.give_back(waiter.value)
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def pressure(self) -> dict[str, Pressure]:
        return {j: Pressure(len(self._waiting[j]), len(s.backlog)) for j, s in self.schedules.items()}

    def halt(self, at: float) -> None:
        """No start due after `at` is counted or handed out (the run is ending); starts users give
        back are still kept, for close() to report as missed."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        self._count_until(at)

    def close(self, end: float) -> dict[str, list[Slot]]:
        """Stop pacing at `end`: the starts due by then and never made, per journey, but for those
        due within END_CUT_S of it. Those the run's end cut off, not the generator: halting counts
        the starts due since the pacer's last look (up to a tick, or _MAX_SKIP_S when idle) and
        hands none out, and the stop kills the users just handed one. Counted as missed, they
        alone broke the 1% missed-iterations check of a short run on a healthy shop. The cost: a
        generator truly behind at its end has at most rate × END_CUT_S real misses uncounted."""
        self.halt(end)
        for queue in self._waiting.values():
            while queue:
                queue.popleft().set(None)
        return {
            journey: [slot for slot in schedule.unserved() if slot.intended <= end - END_CUT_S]
            for journey, schedule in self.schedules.items()
        }

    def _count_until(self, now: float) -> None:
        step = round(self._tick / TICKS[0])
        while self._at(self._units + step) <= now:
            self._units += step
            for schedule in self.schedules.values():
                schedule.accrue(self._at(self._units), self._tick)

    def _serve(self) -> None:
        for journey, queue in self._waiting.items():
            schedule = self.schedules[journey]
            while queue and schedule.backlog:
                queue.popleft().set(schedule.backlog.popleft())
            if schedule.ended:
                while queue:
                    queue.popleft().set(None)

    def _run(self) -> None:
        while True:
            self._count_until(time.time())
            self._serve()
            if all(s.ended for s in self.schedules.values()):
                return
            self._tick = choose_tick(sum(s.rate for s in self.schedules.values()))
            # Sleep to the next tick that brings a start (the plan is looked at again soon).
            ahead = min((s.ticks_until_due(self._tick) for s in self.schedules.values()), default=1.0)
            ticks = max(1.0, min(ahead, _MAX_SKIP_S / self._tick))
            gevent.sleep(max(0.0, self._at(self._units) + ticks * self._tick - time.time()))

    def _at(self, units: int) -> float:
        return self._t0 + units * TICKS[0]
