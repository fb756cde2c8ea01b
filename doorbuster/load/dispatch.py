"""Which journey gets the users Locust adds or removes: the one furthest from its own pool size.

Locust's dispatcher splits any user count by fixed class weights, so it could only grow the
pool as a whole. This one reads each journey's wanted users (doorbuster.load.pool.JourneyPools,
sized by the shape each tick): an added user goes to the journey most short of its size, a
removed one comes from the journey most above it. Without sizes (plain Locust users, the
closed model) Locust's weights decide, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from locust.dispatch import UsersDispatcher

from doorbuster.load.pool import JourneyPools

__all__ = ["JourneyDispatcher", "journey_dispatcher"]


class JourneyDispatcher(UsersDispatcher):
    pools: JourneyPools | None = None  # set on the subclass journey_dispatcher() makes

    def _journey_gap(self) -> dict[str, int]:
        """Each user class's wanted users minus its users now (by class name)."""
        assert self.pools is not None
        sizes = self.pools.sizes
        return {
            cls.__name__: sizes.get(getattr(cls, "journey", ""), 0) - self._get_user_current_count(cls.__name__)
            for cls in self._user_classes
        }

    def _user_gen(self) -> Iterator[str | None]:
        weighted = super()._user_gen()
        while True:
            if self.pools is None or not self.pools.sizes:
                yield next(weighted)
                continue
            gaps = self._journey_gap()
            yield max(gaps, key=lambda name: gaps[name])

    def _remove_users_from_workers(self) -> dict[str, dict[str, int]]:
        if self.pools is None or not self.pools.sizes:
            return super()._remove_users_from_workers()
        target = max(self._current_user_count - self._user_count_per_dispatch_iteration, self._target_user_count)
        while self._current_user_count > target and self._active_users:
            gaps = self._journey_gap()
            surplus = min(gaps, key=lambda name: gaps[name])
            # the newest user of that journey goes first, as Locust's own removal does
            users = self._active_users
            index = next((i for i in range(len(users) - 1, -1, -1) if users[i][1] == surplus), len(users) - 1)
            worker_node, name = self._active_users.pop(index)
            self._users_on_workers[worker_node.id][name] -= 1
            self._current_user_count -= 1
        return self._users_on_workers


def journey_dispatcher(pools: JourneyPools) -> type[Any]:
    """The dispatcher class a runner makes, reading these pools (Environment.dispatcher_class)."""
    return type("JourneyDispatcherForRun", (JourneyDispatcher,), {"pools": pools})
