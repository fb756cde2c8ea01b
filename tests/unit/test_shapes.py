import pytest

from doorbuster.load.errors import ShapeError
from doorbuster.load.plans import (
    PLANS,
    Demand,
    JourneyDemand,
    RatePlan,
    make_plan,
    parse_shape_args,
)

DEMAND = Demand(
    (
        JourneyDemand("browse", 0.6, 5.0, 8.0),
        JourneyDemand("search", 0.3, 4.0, 6.0),
        JourneyDemand("checkout", 0.1, 8.0, 10.0),
    ),
    headroom=1.5,
    min_users=1,
)


def ticks(shape: RatePlan, times: list[float]) -> list:
    return [shape.tick_at(t) for t in times]


def test_steady_plans_its_multiplier_of_1x_for_its_duration_then_ends() -> None:
    shape = make_plan("steady", {"multiplier": "5", "duration": "60"}, one_x_rps=40, demand=DEMAND)
    assert [shape.plan_at(t).planned_rps for t in (0, 30, 59.9)] == [200, 200, 200]
    assert shape.plan_at(0).stage == "5x" and shape.plan_at(0).phase == "steady"
    first, last, after = ticks(shape, [0, 59.9, 60])
    assert first == last and first[0] > 0
    assert after is None and shape.completed


def test_ramp_climbs_1x_5x_10x_holding_each_step() -> None:
    shape = make_plan("ramp", parse_shape_args("hold=30,ramp=10"), one_x_rps=40, demand=DEMAND)
    assert shape.duration == 3 * 30 + 2 * 10
    plan = {t: shape.plan_at(t) for t in (0, 29, 35, 45, 69, 75, 85, 109)}
    assert [plan[t].planned_rps for t in (0, 29)] == [40, 40]
    assert plan[35].phase == "ramp" and plan[35].stage == "5x" and plan[35].planned_rps == pytest.approx(120)
    assert (plan[45].planned_rps, plan[45].phase, plan[45].stage) == (200, "steady", "5x")
    assert plan[75].phase == "ramp" and plan[75].stage == "10x"
    assert (plan[85].planned_rps, plan[109].planned_rps, plan[109].stage) == (400, 400, "10x")
    assert shape.plan_at(110) is None
    users = [tick[0] for tick in ticks(shape, [0, 45, 85])]
    assert users[0] < users[1] < users[2]


def test_ramp_step_s_fits_each_step_ramp_included_into_that_many_seconds() -> None:
    shape = make_plan("ramp", parse_shape_args("step_s=15"), one_x_rps=10)
    assert shape.duration <= 45
    assert [shape.plan_at(t).stage for t in (1, 14, 16, 29, 31, 44)] == ["1x", "1x", "5x", "5x", "10x", "10x"]


def test_users_follow_the_planned_rate_through_littles_law() -> None:
    shape = make_plan("steady", {}, one_x_rps=40, demand=DEMAND)
    # 40 req/s over 5.0 requests per iteration (0.6*5 + 0.3*4 + 0.1*8) = 8 iterations/s
    assert DEMAND.requests_per_iteration == pytest.approx(5.0)
    assert DEMAND.iteration_rate(40, "browse") == pytest.approx(4.8)
    pools = DEMAND.users(40)
    # browse: 4.8 it/s x 8 s x 1.5 headroom = 57.6 -> 58, plus one spare
    assert pools["browse"] == 59
    assert shape.users_at(shape.plan_at(0)) == sum(pools.values())
    tenx = DEMAND.users(400)
    assert tenx["browse"] == pytest.approx(10 * 57.6 + 1, abs=1)


def test_flash_sale_spikes_from_1x_to_10x_within_seconds_and_recovers() -> None:
    shape = make_plan("spike", parse_shape_args("before=10,rise=2,hold=5,fall=2,after=10"), one_x_rps=40)
    assert (shape.plan_at(5).multiplier, shape.plan_at(5).phase) == (1, "steady")
    assert shape.plan_at(11).phase == "spike" and 1 < shape.plan_at(11).multiplier < 10
    assert (shape.plan_at(13).multiplier, shape.plan_at(13).stage) == (10, "10x")
    assert (shape.plan_at(20).multiplier, shape.plan_at(20).phase) == (1, "recovery")
    assert shape.plan_at(28.9) is not None and shape.plan_at(29) is None


def test_black_friday_day_has_a_quiet_night_doorbuster_spikes_and_an_evening_peak() -> None:
    shape = make_plan("blackfriday", {"day": "240"}, one_x_rps=40)  # 10 s per hour
    assert shape.plan_at(1).phase == "spike" and shape.plan_at(1).multiplier == 10  # midnight doors open
    night = shape.plan_at(40).multiplier  # 04:00
    evening = shape.plan_at(195).multiplier  # 19:30
    assert night < 1 < evening < 10
    assert shape.plan_at(121).phase == "spike"  # the noon doorbuster drop
    multipliers = [shape.plan_at(t).multiplier for t in range(240)]
    assert max(multipliers) == 10 and min(multipliers) > 0


def test_soak_holds_1x_for_an_hour_by_default() -> None:
    shape = make_plan("soak", {}, one_x_rps=40)
    assert shape.duration == 3600
    assert (shape.plan_at(3599).planned_rps, shape.plan_at(3599).phase) == (40, "soak")


def test_run_time_caps_every_shape() -> None:
    for name in PLANS:
        shape = make_plan(name, {}, one_x_rps=40, time_limit=7)
        assert shape.bound == 7
        assert shape.plan_at(6.9) is not None
        assert ticks(shape, [7.0]) == [None]


def test_each_tick_is_recorded_in_the_planned_rate_timeline() -> None:
    shape = make_plan("ramp", parse_shape_args("hold=5,ramp=1"), one_x_rps=40, demand=DEMAND)
    ticks(shape, [0, 1, 6])
    assert [(row[1], row[3], row[4], row[5]) for row in shape.timeline] == [
        (40, "1x", 1.0, "steady"),
        (40, "1x", 1.0, "steady"),
        (200, "5x", 5.0, "steady"),
    ]
    assert all(row[2] > 0 for row in shape.timeline)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("nope", {}, "shape 'nope': unknown (known: blackfriday, ramp, soak, spike, steady)"),
        ("ramp", {"holdd": "3"}, "shape ramp: unknown argument 'holdd'"),
        ("steady", {"duration": "long"}, "shape steady: duration='long': expected a duration such as 90"),
        ("steady", {"duration": "-5"}, "shape steady: duration='-5': expected a duration such as 90"),
        ("steady", {"duration": "0"}, "shape steady: duration='0': must be more than zero"),
        ("ramp", {"hold": "-1"}, "shape ramp: hold='-1': expected a duration such as 90"),
        ("ramp", {"steps": "1/x"}, "shape ramp: steps='1/x' is not a list of numbers"),
        ("ramp", {"steps": "1/inf"}, "shape ramp: steps='1/inf' must hold finite numbers"),
        ("ramp", {"steps": "0/5"}, "shape ramp: steps='0/5' must be multipliers of 1x above zero"),
        ("steady", {"multiplier": "inf"}, "shape steady: multiplier='inf' must be a finite number"),
        ("steady", {"multiplier": "nan"}, "shape steady: multiplier='nan' must be a finite number"),
        ("steady", {"multiplier": "0"}, "shape steady: multiplier='0' must be a multiplier of 1x above zero"),
        ("spike", {"peak": "1e400"}, "shape spike: peak='1e400' must be a finite number"),
    ],
)
def test_bad_shapes_are_refused_naming_the_value(name: str, args: dict, message: str) -> None:
    with pytest.raises(ShapeError) as exc:
        make_plan(name, args, one_x_rps=40)
    assert message in str(exc.value)


def test_shape_durations_follow_the_one_grammar_and_parts_may_be_zero() -> None:
    shape = make_plan("ramp", {"hold": "1m", "ramp": "0", "steps": "1/2"}, one_x_rps=40)
    assert (shape.hold, shape.ramp, shape.duration) == (60.0, 0.0, 120.0)
    assert make_plan("steady", {"duration": "1h30m"}, one_x_rps=40).duration == 5400


def test_shape_args_parse_key_value_pairs_and_refuse_garbage() -> None:
    assert parse_shape_args("hold=30, ramp=5,steps=1/5/10") == {"hold": "30", "ramp": "5", "steps": "1/5/10"}
    assert parse_shape_args("") == {}
    with pytest.raises(ShapeError, match="shape argument 'hold': expected key=value"):
        parse_shape_args("hold")
