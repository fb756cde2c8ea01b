"""From options and the loaded journeys to a plan: the demand, the user split, the schedules."""

from __future__ import annotations

import logging
from typing import Any

from doorbuster.durations import DURATION_HELP
from doorbuster.load.closed_users import closed_demand, name_journeys, plain_user_classes
from doorbuster.load.errors import LoadError
from doorbuster.load.options import open_model
from doorbuster.load.pacing import Pacer, Schedule
from doorbuster.load.plans import Demand, JourneyDemand, RatePlan, make_plan, parse_shape_args
from doorbuster.load.profile import Profile, load_profile
from doorbuster.load.state import LoadState

__all__ = ["build_plan", "demand_for", "set_weights", "start_pacing", "stop_pacing"]

log = logging.getLogger("doorbuster.load")


def demand_for(user_classes: Any, profile: Profile, min_users: int) -> Demand:
    """Each journey's iteration cost, from its class attributes and the profile's think times."""
    classes = {getattr(c, "journey", ""): c for c in user_classes if getattr(c, "journey", "")}
    unknown = sorted(set(profile.mix) - set(classes))
    if not set(profile.mix) & set(classes):
        raise LoadError(
            f"profile {profile.source}: mix names {', '.join(sorted(profile.mix))} but the loaded "
            f"journeys are {', '.join(sorted(classes)) or 'none'}"
        )
    if unknown:
        log.warning("profile %s: no journey class for %s; their share is dropped", profile.source, unknown)
    mix = {j: s for j, s in profile.mix.items() if j in classes}
    total = sum(mix.values()) or 1.0
    journeys = []
    for journey, cls in sorted(classes.items()):
        share = mix.get(journey, 0.0) / total
        requests = float(cls.requests_per_iteration)
        duration = cls.think_pauses * profile.mean_think_s + requests * profile.expected_latency_ms / 1000
        journeys.append(JourneyDemand(journey, share, requests, max(duration, 0.05)))
    return Demand(tuple(journeys), headroom=profile.headroom, min_users=min_users)


def set_weights(user_classes: Any, demand: Demand) -> None:
    # Locust splits users by weight: make the split follow each journey's share of the pool.
    pools = demand.users(1000.0)
    for cls in user_classes:
        cls.weight = max(1, pools.get(getattr(cls, "journey", ""), 1))


def build_plan(environment: Any, min_users: int) -> tuple[Profile, Demand, RatePlan | None]:
    """The profile, the demand and the plan the options ask for (no plan: the closed model)."""
    opts = environment.parsed_options
    profile = load_profile(getattr(opts, "traffic_profile", None))
    plain = plain_user_classes(environment.user_classes)
    # Plain Locust users keep their own wait_time: the shape sizes them, no schedule paces them.
    if plain:
        name_journeys(plain)
        demand = closed_demand(plain, profile, min_users)
    else:
        demand = demand_for(environment.user_classes, profile, min_users)
    run_time = getattr(opts, "run_time", None)
    if run_time is not None and run_time <= 0:
        raise LoadError(f"--run-time {run_time!r}: must be more than zero ({DURATION_HELP}); every run is bounded")
    if not open_model(opts):
        return profile, demand, None
    shape = make_plan(
        getattr(opts, "shape", None) or "steady",
        parse_shape_args(getattr(opts, "shape_args", "")),
        one_x_rps=profile.one_x_rps,
        demand=demand,
        time_limit=float(run_time) if run_time else None,
    )
    return profile, demand, shape


def start_pacing(state: LoadState, t0: float, *, share: float, phase: float) -> None:
    """One schedule per journey with a share of the plan, and the process's pacer over them."""
    shape, demand = state.shape, state.demand
    assert shape is not None and demand is not None

    def rate_for(journey: str) -> Any:
        def rate_at(elapsed: float) -> float | None:
            point = shape.plan_at(elapsed)
            return None if point is None else demand.iteration_rate(point.planned_rps, journey)

        return rate_at

    schedules = {
        j.journey: Schedule(rate_for(j.journey), t0, share=share, phase=phase) for j in demand.journeys if j.share > 0
    }
    state.pacer = Pacer(schedules, t0)
    state.pacer.start()


def stop_pacing(state: LoadState, end: float) -> None:
    """Every intended start the generator never made becomes a missed iteration row."""
    if state.pacer is None:
        return
    pacer, state.pacer = state.pacer, None
    rows = state.outbox.rows["iterations"]
    for journey, missed in pacer.close(end).items():
        for slot in missed:
            iteration = f"{state.worker}/{journey}/{slot.seq}"
            waited_ms = (end - slot.intended) * 1000  # how long it had waited when the run ended
            rows.append((iteration, journey, state.worker, slot.intended, None, None, waited_ms, True))
