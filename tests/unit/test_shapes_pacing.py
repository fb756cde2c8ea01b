import itertools
import time

import gevent
import pytest

from doorbuster.load.pacing import END_CUT_S, Pacer, Pressure, Schedule, choose_tick
from doorbuster.load.pool import ElasticPool


def constant(rate: float, until: float = 1e9):
    return lambda elapsed: rate if elapsed < until else None


def run_ticks(schedule: Schedule, tick: float, count: int, t0: float = 0.0) -> None:
    for i in range(1, count + 1):
        schedule.accrue(t0 + i * tick, tick)


def test_intended_starts_follow_the_planned_rate_grouped_on_the_tick_grid() -> None:
    schedule = Schedule(constant(30), t0=0.0, phase=0.5)
    run_ticks(schedule, 0.04, 25)  # one second
    starts = [s.intended for s in schedule.backlog]
    assert len(starts) == 30
    assert all(abs(t / 0.04 - round(t / 0.04)) < 1e-9 for t in starts), "starts sit on the grid"
    assert starts[0] == pytest.approx(0.04)  # half a start owed at t0: the first comes early
    gaps = {round(b - a, 3) for a, b in itertools.pairwise(starts)}
    # 30 starts on 25 ticks: some ticks carry two (gap 0), the rest one; never a tick skipped
    assert gaps == {0.0, 0.04}, "never more than a tick between two starts at 30/s"


def test_a_rate_change_changes_the_number_of_starts_per_tick_from_then_on() -> None:
    schedule = Schedule(lambda e: 10.0 if e < 1 else 100.0, t0=0.0, phase=0.0)
    run_ticks(schedule, 0.01, 200)
    first = [s for s in schedule.backlog if s.intended <= 1.0]
    second = [s for s in schedule.backlog if s.intended > 1.0]
    assert len(first) == pytest.approx(10, abs=1) and len(second) == pytest.approx(100, abs=1)


def test_processes_share_the_rate_and_stagger_their_starts() -> None:
    first = Schedule(constant(10), t0=0.0, share=0.5, phase=0.25)
    second = Schedule(constant(10), t0=0.0, share=0.5, phase=0.75)
    run_ticks(first, 0.01, 100)
    run_ticks(second, 0.01, 100)
    a, b = [s.intended for s in first.backlog], [s.intended for s in second.backlog]
    assert len(a) + len(b) == pytest.approx(10, abs=1)
    assert a[0] == pytest.approx(0.15) and b[0] == pytest.approx(0.05)


def test_the_schedule_ends_with_the_plan() -> None:
    schedule = Schedule(constant(10, until=0.3), t0=0.0, phase=0.5)
    run_ticks(schedule, 0.01, 100)
    assert [round(s.intended, 2) for s in schedule.backlog] == [0.05, 0.15, 0.25]
    assert schedule.ended and schedule.ticks_until_due(0.01) == 0


def test_a_start_given_back_by_a_stopped_user_is_served_first() -> None:
    schedule = Schedule(constant(100), t0=0.0, phase=0.0)
    run_ticks(schedule, 0.01, 3)
    early = schedule.take()
    schedule.give_back(early)
    assert schedule.take() is early


def test_unserved_returns_every_due_start_never_taken() -> None:
    schedule = Schedule(constant(10), t0=0.0, phase=0.0)
    run_ticks(schedule, 0.01, 95)
    schedule.take()  # started
    missed = schedule.unserved()
    assert [round(s.intended, 2) for s in missed] == [round(0.1 * i, 2) for i in range(2, 10)]
    assert schedule.take() is None and schedule.ended


@pytest.mark.parametrize(("rate", "tick"), [(2000, 0.005), (200, 0.01), (120, 0.02), (60, 0.04), (1, 0.04)])
def test_the_tick_serves_about_three_starts_per_wake_up(rate: float, tick: float) -> None:
    assert choose_tick(rate) == tick


def test_the_pacer_hands_due_starts_to_waiting_users_on_time() -> None:
    t0 = time.time()
    pacer = Pacer({"ping": Schedule(constant(200, until=1.0), t0, phase=0.5)}, t0)
    served: list[tuple[float, float]] = []

    def user() -> None:
        while (slot := pacer.next_start("ping")) is not None:
            served.append((slot.intended, time.time()))

    pacer.start()
    users = [gevent.spawn(user) for _ in range(4)]
    gevent.joinall(users, timeout=5)
    assert all(u.dead for u in users), "users are released when the plan ends"
    assert len(served) == 200, "the plan's starts, no tick more"
    lags = sorted(started - intended for intended, started in served)
    assert lags[0] >= 0, "no start before its intended time"
    assert lags[len(lags) // 2] < 0.05, "starts are served at their tick"
    assert len({intended for intended, _ in served}) <= 0.5 * len(served), "one wake-up serves several starts"


def test_starts_nobody_was_free_for_pile_up_as_late_and_are_missed_at_the_end() -> None:
    t0 = time.time()
    pacer = Pacer({"ping": Schedule(constant(100), t0, phase=0.0)}, t0)
    pacer.start()
    gevent.sleep(0.3)  # no user at all
    assert pacer.pressure()["ping"].late >= 20
    # a busy machine wakes us late: the count follows the close, however long that took
    end = time.time()
    missed = pacer.close(end)["ping"]
    # due in the run's last END_CUT_S: cut by the end, not missed by the generator
    assert len(missed) == pytest.approx((end - t0 - END_CUT_S) * 100, abs=4)
    assert all(t0 < s.intended <= end - END_CUT_S for s in missed)
    assert max(s.intended for s in missed) > end - END_CUT_S - 0.05, "starts due before the cut stay missed"


def test_starts_due_just_before_the_end_are_cut_by_it_not_missed() -> None:
    t0 = time.time()
    schedule = Schedule(constant(200), t0, phase=0.0)
    pacer = Pacer({"ping": schedule}, t0)
    # never started: the pacer never looked, as when the stop comes before its tick
    assert pacer.close(t0 + 0.05)["ping"] == [], "starts due in the last tick were counted as missed"


def test_the_pool_grows_while_starts_wait_for_a_user_then_shrinks_back() -> None:
    pool = ElasticPool(max_users=100)
    assert pool.resize(10, Pressure(idle=3, late=0)) == 10
    assert pool.resize(10, Pressure(idle=0, late=4)) == 14
    assert pool.resize(10, Pressure(idle=0, late=50)) == 28, "at most doubling per tick"
    assert not pool.cap_hit
    sizes = [pool.resize(10, Pressure(idle=20, late=0)) for _ in range(12)]
    assert sizes[0] == 28 and sizes[-1] < 20 and sizes == sorted(sizes, reverse=True)


def test_the_pool_stops_at_max_users_and_says_the_cap_was_hit() -> None:
    pool = ElasticPool(max_users=12)
    assert pool.resize(10, Pressure(idle=0, late=30)) == 12
    assert pool.cap_hit
    assert pool.resize(10, Pressure(idle=2, late=0)) == 12 and not pool.cap_hit
    assert pool.resize(20, Pressure()) == 12 and pool.cap_hit, "a plan above the cap hits it too"


def test_the_pool_grows_no_faster_than_users_can_be_spawned() -> None:
    pool = ElasticPool(max_users=5000)
    assert pool.resize(300, Pressure(idle=0, late=400), max_growth=100) == 400
    assert pool.resize(300, Pressure(idle=0, late=400), max_growth=100) == 500, "again next tick"
