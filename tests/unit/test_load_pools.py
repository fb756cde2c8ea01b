"""Each journey has its own elastic pool: a slow journey grows its own users, under one cap."""

import subprocess
import sys
import textwrap

from doorbuster.load.pacing import Pressure
from doorbuster.load.pool import JourneyPools


def test_a_slow_journey_grows_its_own_users_and_leaves_the_others_alone() -> None:
    pools = JourneyPools(max_users=1000)
    planned = {"browse": 90, "checkout": 10}
    assert pools.resize(planned, {}) == planned
    # checkout's users are all busy and 8 of its starts wait; browse has users to spare
    slow = {"browse": Pressure(idle=40, late=0), "checkout": Pressure(idle=0, late=8)}
    assert pools.resize(planned, slow) == {"browse": 90, "checkout": 18}
    assert pools.size == 108 and not pools.cap_hit
    # checkout keeps up again: its extra users go back, browse never changed
    calm = {"browse": Pressure(idle=40, late=0), "checkout": Pressure(idle=10, late=0)}
    sizes = [pools.resize(planned, calm)["checkout"] for _ in range(12)]
    assert sizes[-1] < 18 and sizes == sorted(sizes, reverse=True)
    assert pools.sizes["browse"] == 90


def test_journeys_growing_at_once_share_one_cap_and_say_it_was_hit() -> None:
    pools = JourneyPools(max_users=120)
    planned = {"browse": 90, "checkout": 10}
    late = {"browse": Pressure(idle=0, late=30), "checkout": Pressure(idle=0, late=30)}
    sizes = pools.resize(planned, late)
    assert sum(sizes.values()) == 120 and pools.cap_hit
    assert sizes["browse"] >= 90 and sizes["checkout"] >= 10, "the plan's own users always stay"
    assert pools.resize({"browse": 200, "checkout": 40}, {}) == {"browse": 100, "checkout": 20}
    assert pools.cap_hit, "a plan above the cap hits it too, each journey keeping its share"


# Locust must be imported before ssl (gevent patches it): its side runs in a fresh interpreter.
DISPATCH_SIDE = textwrap.dedent(
    """
    from locust import User
    from locust.runners import WorkerNode

    from doorbuster.load.dispatch import journey_dispatcher
    from doorbuster.load.pool import JourneyPools


    class Browse(User):
        journey = "browse"
        weight = 9


    class Checkout(User):
        journey = "checkout"
        weight = 1


    pools = JourneyPools(max_users=1000)
    workers = [WorkerNode("a"), WorkerNode("b")]
    dispatcher = journey_dispatcher(pools)(worker_nodes=workers, user_classes=[Browse, Checkout])

    def dispatch(sizes):
        pools.sizes = sizes
        dispatcher.new_dispatch(sum(sizes.values()), spawn_rate=10_000)
        *_, last = dispatcher
        return {name: sum(w[name] for w in last.values()) for name in ("Browse", "Checkout")}

    assert dispatch({"browse": 90, "checkout": 10}) == {"Browse": 90, "Checkout": 10}
    # Locust's weights (9:1) would give checkout 2 of 20 more users; its own pool gives it all 20
    assert dispatch({"browse": 90, "checkout": 30}) == {"Browse": 90, "Checkout": 30}
    assert dispatch({"browse": 90, "checkout": 12}) == {"Browse": 90, "Checkout": 12}
    assert dispatch({"browse": 60, "checkout": 12}) == {"Browse": 60, "Checkout": 12}
    print("ok")
    """
)


def test_users_are_added_to_and_removed_from_the_journey_whose_pool_changed() -> None:
    result = subprocess.run([sys.executable, "-c", DISPATCH_SIDE], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
