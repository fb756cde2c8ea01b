"""Plain Locust users (HttpUser, FastHttpUser with a wait_time) under our shapes: the closed model.

A user that is not a PacedUser starts its next task when its own wait_time says, not when a plan
does: it has no intended start, so its latency cannot be corrected for coordinated omission (a
slow answer delays the next request instead of being charged to it). Our shapes still size the
run: the plan's request rate becomes a user count by Little's law, each user offering about one
request per (mean wait + expected latency).
"""

from __future__ import annotations

import statistics
from typing import Any

from doorbuster.load.errors import LoadError
from doorbuster.load.plans import Demand, JourneyDemand
from doorbuster.load.profile import Profile

__all__ = ["closed_demand", "is_paced", "mean_wait_s", "name_journeys", "plain_user_classes"]

_WAIT_SAMPLES = 64
_UNKNOWN_WAIT_S = 1.0  # a wait_time we cannot sample (constant_pacing keeps state per user)


def is_paced(user_class: Any) -> bool:
    """A journey written on our API (doorbuster.journeys.PacedUser) names itself."""
    return bool(getattr(user_class, "journey", ""))


def plain_user_classes(user_classes: Any) -> list[Any]:
    """The plain users, or [] when every class is a paced journey; a mix of both is refused."""
    classes = list(user_classes)
    plain = [c for c in classes if not is_paced(c)]
    paced = [c for c in classes if is_paced(c)]
    if plain and paced:
        raise LoadError(
            f"the locustfile mixes paced journeys ({', '.join(sorted(c.__name__ for c in paced))}) with plain "
            f"users ({', '.join(sorted(c.__name__ for c in plain))}): one run is either the open or the "
            "closed model; run them separately"
        )
    return plain


class _Probe:
    """Stands in for a user while sampling a wait_time that reads nothing of it (between, constant)."""


def mean_wait_s(user_class: Any) -> float:
    wait = getattr(user_class, "wait_time", None)
    if wait is None:
        return 0.0
    try:
        samples = [float(wait(_Probe())) for _ in range(_WAIT_SAMPLES)]
    except Exception:
        return _UNKNOWN_WAIT_S
    return max(0.0, statistics.fmean(samples))


def closed_demand(user_classes: Any, profile: Profile, min_users: int) -> Demand:
    """Each plain class is a 'journey' of one request per task, its share its Locust weight."""
    classes = list(user_classes)
    total = sum(max(0, int(getattr(c, "weight", 1))) for c in classes) or 1
    journeys = tuple(
        JourneyDemand(
            c.__name__,
            max(0, int(getattr(c, "weight", 1))) / total,
            1.0,
            max(mean_wait_s(c) + profile.expected_latency_ms / 1000, 0.05),
        )
        for c in sorted(classes, key=lambda c: c.__name__)
    )
    return Demand(journeys, headroom=1.0, min_users=min_users)


def name_journeys(user_classes: Any) -> None:
    """Each plain user's requests carry its class name as `journey` (SLOs can scope by it); a
    user's own context() keeps its keys, and a class is wrapped once however often this runs."""
    for cls in user_classes:
        if getattr(cls.context, "names_journey", False):
            continue
        own = cls.context

        def context(self: Any, own: Any = own) -> dict[str, Any]:
            return {"journey": type(self).__name__, **own(self)}

        context.names_journey = True  # type: ignore[attr-defined]
        cls.context = context
