"""The user pool of the open model: sized from the plan, grown when starts wait for a free user.

The plan's users come from Little's law with headroom (doorbuster.load.plans.Demand). When the
shop slows down every user is busy and due starts wait (Pressure.late with no idle user): the
pool grows, up to the profile's `max_users` (k6's maxVUs), and shrinks back once users idle
again. Hitting the cap means the generator could not offer the plan: the run cannot vouch for
the shop, and generator.csv says so (`cap_hit`).

A user runs one journey, so each journey has its own pool (JourneyPools): a slow checkout
grows checkout's users only. One pool for all, split by the journeys' planned shares, gave a
checkout at 10% of the users one user in ten of its growth: the cap came ten times sooner,
and browse got users it could not use.
"""

from __future__ import annotations

import math

from doorbuster.load.pacing import Pressure

__all__ = ["ElasticPool", "JourneyPools"]

_CALM_TICKS = 3  # ticks with idle users and nothing late before the pool shrinks
_IDLE_SHARE = 0.25  # "idle" means more than this share of the pool waiting for a start


class ElasticPool:
    def __init__(self, max_users: int) -> None:
        self.max_users = max_users
        self.extra = 0  # users above the plan's own count
        self.cap_hit = False
        self.size = 0
        self._calm = 0

    def resize(self, planned: int, pressure: Pressure, max_growth: int | None = None) -> int:
        """The pool size for this tick, from the plan's users and how the pool kept up.

        `max_growth` bounds the extra users added in one tick (the users a second the run may
        spawn): more would only wait to be spawned while the pressure grows the pool again.
        """
        current = planned + self.extra
        if pressure.late > 0:  # starts of a journey whose users are all busy
            # each late start needs a user; at most double per tick, so a stall does not explode
            growth = min(max(1, pressure.late), max(1, current))
            self.extra += growth if max_growth is None else min(growth, max(1, max_growth))
            self._calm = 0
        elif pressure.late == 0 and pressure.idle > _IDLE_SHARE * current and self.extra:
            self._calm += 1
            if self._calm >= _CALM_TICKS:
                self.extra -= max(1, math.ceil(self.extra / 4))
                self._calm = 0
        else:
            self._calm = 0
        wanted = planned + self.extra
        self.cap_hit = wanted > self.max_users
        self.size = min(wanted, self.max_users)
        # growing past the cap helps nobody: hold the extra where the cap is
        self.extra = max(0, min(self.extra, self.max_users - planned))
        return self.size


class JourneyPools:
    """One ElasticPool per journey, under one cap (`max_users` for the whole run)."""

    def __init__(self, max_users: int) -> None:
        self.max_users = max_users
        self.pools: dict[str, ElasticPool] = {}
        self.sizes: dict[str, int] = {}  # journey -> users wanted at the last tick
        self.cap_hit = False

    @property
    def size(self) -> int:
        return sum(self.sizes.values())

    def resize(
        self, planned: dict[str, int], pressure: dict[str, Pressure], max_growth: int | None = None
    ) -> dict[str, int]:
        """Each journey's users for this tick, from its planned users and how its own users kept up."""
        total_planned = sum(planned.values())
        sizes = {}
        for journey, users in planned.items():
            pool = self.pools.setdefault(journey, ElasticPool(self.max_users))
            # a journey may grow into the cap's room above every journey's planned users
            pool.max_users = max(users, self.max_users - (total_planned - users))
            sizes[journey] = pool.resize(users, pressure.get(journey, Pressure()), max_growth)
        over = sum(sizes.values()) - self.max_users
        self.cap_hit = over > 0 or any(pool.cap_hit for pool in self.pools.values())
        if over > 0:  # several journeys grew at once: take the excess back from the largest extras
            for journey in sorted(sizes, key=lambda j: sizes[j] - planned[j], reverse=True):
                cut = min(over, max(0, sizes[journey] - planned[journey]))
                sizes[journey] -= cut
                self.pools[journey].extra -= cut
                over -= cut
        if over > 0:  # the plan alone is above the cap: every journey keeps its share of it
            scale = self.max_users / sum(sizes.values())
            sizes = {journey: int(users * scale) for journey, users in sizes.items()}
        self.sizes = sizes
        return sizes
