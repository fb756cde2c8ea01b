"""What the game day uses of the load engine, in one place: the plan (to put the chaos schedule
on the load's timeline), the traffic profile, the shape arguments, and the target rule."""

from __future__ import annotations

try:
    from doorbuster.load.errors import LoadError
    from doorbuster.load.plans import RatePlan, make_plan, parse_shape_args
    from doorbuster.load.profile import load_profile
    from doorbuster.load.safety import check_target
except ModuleNotFoundError:  # the engine before its move out of scenarios/ (drop once both have landed)
    from scenarios._errors import LoadError  # type: ignore[no-redef]
    from scenarios._plan import RatePlan, make_plan, parse_shape_args  # type: ignore[no-redef]
    from scenarios._profile import load_profile  # type: ignore[no-redef]
    from scenarios._safety import check_target  # type: ignore[no-redef]

__all__ = ["LoadError", "RatePlan", "check_target", "load_profile", "make_plan", "parse_shape_args"]
