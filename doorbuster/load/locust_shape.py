"""The Locust side of a rate plan: one LoadTestShape that ticks whichever plan was chosen.

Locust has no --shape option and uses the first shape class a locustfile defines; this
class is abstract (so the loader never picks it) and doorbuster/load/wiring.py sets an instance
as the environment's shape from --shape.
"""

from __future__ import annotations

from locust import LoadTestShape

from doorbuster.load.plans import RatePlan

__all__ = ["PlannedShape"]


class PlannedShape(LoadTestShape):
    abstract = True

    def __init__(self, plan: RatePlan) -> None:
        super().__init__()
        self.plan = plan

    def tick(self) -> tuple[int, float] | None:
        return self.plan.tick_at(self.get_run_time())
