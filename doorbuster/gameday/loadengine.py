"""What the game day uses of the load engine, in one place: the plan (to put the chaos schedule
on the load's timeline), the traffic profile, the shape arguments, and the target rule."""

from __future__ import annotations

from doorbuster.load.errors import LoadError
from doorbuster.load.plans import RatePlan, make_plan, parse_shape_args
from doorbuster.load.profile import load_profile
from doorbuster.load.safety import check_target

__all__ = ["LoadError", "RatePlan", "check_target", "load_profile", "make_plan", "parse_shape_args"]
