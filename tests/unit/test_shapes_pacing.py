import pytest

from doorbuster.load.pacing import Schedule


def constant(rate: float, until: float = 1e9):
    return lambda elapsed: rate if elapsed < until else None


def test_intended_starts_follow_the_planned_rate() -> None:
    schedule = Schedule(constant(10), t0=1000.0, phase=0.5)
    starts = [schedule.take().intended for _ in range(5)]
    assert starts == pytest.approx([1000.05, 1000.15, 1000.25, 1000.35, 1000.45])


def test_a_rate_change_changes_the_spacing_at_that_moment() -> None:
    schedule = Schedule(lambda e: 2.0 if e < 1 else 20.0, t0=0.0, phase=0.0)
    starts = [schedule.take().intended for _ in range(6)]
    assert starts[:3] == pytest.approx([0.0, 0.5, 1.0])
    assert starts[3] - starts[2] == pytest.approx(0.05)


def test_processes_share_the_rate_and_stagger_their_starts() -> None:
    first = Schedule(constant(10), t0=0.0, share=0.5, phase=0.25)
    second = Schedule(constant(10), t0=0.0, share=0.5, phase=0.75)
    a = [first.take().intended for _ in range(3)]
    b = [second.take().intended for _ in range(3)]
    assert a == pytest.approx([0.05, 0.25, 0.45])
    assert b == pytest.approx([0.15, 0.35, 0.55])


def test_the_schedule_ends_with_the_plan() -> None:
    schedule = Schedule(constant(10, until=0.3), t0=0.0, phase=0.5)
    assert [round(schedule.take().intended, 3) for _ in range(3)] == [0.05, 0.15, 0.25]
    assert schedule.take() is None


def test_a_slot_given_back_by_a_stopped_user_is_served_before_later_ones() -> None:
    schedule = Schedule(constant(10), t0=0.0, phase=0.0)
    early, late = schedule.take(), schedule.take()
    schedule.give_back(early)
    again = schedule.take()
    assert again is early
    schedule.started(late)
    assert schedule.take().intended == pytest.approx(0.2)


def test_unserved_returns_every_intended_start_never_made_before_the_end() -> None:
    schedule = Schedule(constant(10), t0=0.0, phase=0.0)
    started = schedule.take()
    schedule.started(started)
    waiting = schedule.take()  # reserved by a user stuck elsewhere, never started
    missed = schedule.unserved(until=0.95)
    assert missed[0] is waiting
    assert [round(s.intended, 2) for s in missed] == [round(0.1 * i, 2) for i in range(1, 10)]
    assert schedule.take() is None


def test_a_zero_rate_offers_nothing_until_the_plan_rises_again() -> None:
    schedule = Schedule(lambda e: 0.0 if e < 2 else 10.0, t0=0.0, phase=0.0)
    assert schedule.take().intended == pytest.approx(2.0, abs=0.11)
