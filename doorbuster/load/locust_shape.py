"""The Locust side of a rate plan: one LoadTestShape that ticks whichever plan was chosen.

Locust has no --shape option and uses the first shape class a locustfile defines; this
class is abstract (so the loader never picks it) and doorbuster/load/wiring.py sets an instance
as the environment's shape from --shape.
"""

from __future__ import annotations

from collections.abc import Callable

from locust import LoadTestShape

from doorbuster.load.pacing import Pressure
from doorbuster.load.plans import RatePlan
from doorbuster.load.pool import JourneyPools
from doorbuster.load.spawning import spawn_budget

__all__ = ["PlannedShape"]


class PlannedShape(LoadTestShape):
    """Each second: the plan's rate → each journey's planned users → its elastic pool's size.

    Which journey a user added or removed belongs to is doorbuster.load.dispatch's job."""

    abstract = True

    def __init__(self, plan: RatePlan, pool: JourneyPools, pressure: Callable[[], dict[str, Pressure]]) -> None:
        super().__init__()
        self.plan = plan
        self.pool = pool
        self._pressure = pressure

    def tick(self) -> tuple[int, float] | None:
        point = self.plan.plan_at(self.get_run_time())
        if point is None:
            self.plan.completed = True
            return None
        budget = spawn_budget(self.runner)
        planned = self.plan.demand.users(point.planned_rps)
        users = sum(self.pool.resize(planned, self._pressure(), max_growth=budget).values())
        self.plan.record(point, users)
        # The whole change within about a second (the pool must be there when the plan is), but
        # never faster than the budget: a worker spawns its share without yielding to its loop.
        rate = float(max(20, users))
        return users, rate if budget is None else min(rate, float(budget))
