"""The paced schedule: when the plan wants each journey iteration to start (open model).

Each generator process owns one Schedule per journey. Intended start times follow the
planned iteration rate (the shape's plan), independently of how fast the shop answers.
A free user takes the next intended start and waits for it; when every user is stuck
(a stalled shop, a saturated generator) intended starts pile up and are served late, so
their lag is recorded; the ones never served before the run ends are recorded as missed.
That is what keeps coordinated omission visible.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

__all__ = ["Schedule", "Slot"]

# When the plan offers no iterations (rate 0) look again this much later.
_IDLE_STEP_S = 0.1


class Slot:
    """One intended iteration start, handed to one user."""

    __slots__ = ("intended", "seq")

    def __init__(self, seq: int, intended: float) -> None:
        self.seq = seq
        self.intended = intended

    def __lt__(self, other: Slot) -> bool:
        return self.intended < other.intended


class Schedule:
    """Intended starts of one journey in one process.

    `rate_at(elapsed)` is the journey's planned iteration rate (per second, whole run) at
    `elapsed` seconds after `t0`, or None once the plan has ended; `share` is this process's
    part of it (1/number of generator processes); `phase` (0..1) staggers the processes.
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
        self._seq = itertools.count()
        self._returned: list[Slot] = []  # slots a stopped user gave back: served first
        self._reserved: dict[int, Slot] = {}  # handed out, not started yet
        self._ended = False
        self._next: float | None = self._first(t0, phase)

    def _first(self, t0: float, phase: float) -> float | None:
        t = t0
        while True:
            rate = self._rate_at(t - t0)
            if rate is None:
                return None
            if rate > 0:
                return t + phase / (rate * self._share)
            t += _IDLE_STEP_S

    def _advance(self) -> float | None:
        """The next intended start after the current one, following the plan's rate there."""
        if self._next is None:
            return None
        t = self._next
        while True:
            rate = self._rate_at(t - self._t0)
            if rate is None:
                return None
            if rate > 0:
                candidate = t + 1.0 / (rate * self._share)
                # the plan may end between two starts
                return candidate if self._rate_at(candidate - self._t0) is not None else None
            t += _IDLE_STEP_S

    def take(self) -> Slot | None:
        """The earliest intended start nobody has taken, or None once the plan has ended."""
        if self._returned:
            slot = heapq.heappop(self._returned)
        else:
            if self._next is None or self._ended:
                return None
            slot = Slot(next(self._seq), self._next)
            self._next = self._advance()
        self._reserved[slot.seq] = slot
        return slot

    def give_back(self, slot: Slot) -> None:
        """A user stopped before starting its slot: someone else must serve it."""
        if self._reserved.pop(slot.seq, None) is not None:
            heapq.heappush(self._returned, slot)

    def started(self, slot: Slot) -> None:
        self._reserved.pop(slot.seq, None)

    def unserved(self, until: float) -> list[Slot]:
        """Close the schedule: every intended start before `until` that was never started."""
        self._ended = True
        missed = [s for s in self._reserved.values() if s.intended < until]
        missed += [s for s in self._returned if s.intended < until]
        self._reserved.clear()
        self._returned.clear()
        while self._next is not None and self._next < until:
            missed.append(Slot(next(self._seq), self._next))
            self._next = self._advance()
        self._next = None
        return sorted(missed)
