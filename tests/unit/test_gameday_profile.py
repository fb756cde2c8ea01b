"""Game day profiles: the shipped ones fit their promises; bad ones are refused naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from doorbuster.gameday.errors import GamedayError
from doorbuster.gameday.preflight import EXPERIMENTS_DIR, check_experiments
from doorbuster.gameday.profile import ErrorRateStop, IntegrityStop, available_gamedays, load_gameday
from doorbuster.gameday.schedule import build_timeline


def _write(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


BASE = {"name": "t", "traffic_profile": "ci", "shape": "ramp", "shape_args": {"steps": [1, 5], "step_s": 20}}


def test_the_shipped_game_days_keep_their_promises() -> None:
    assert {"smoke", "ci", "black-friday"} <= set(available_gamedays())
    smoke = build_timeline(load_gameday("smoke"))
    assert smoke.duration_s <= 60
    ci = build_timeline(load_gameday("ci"))
    assert ci.duration_s <= 180
    assert max(ci.plan.plan_at(t).multiplier for t in range(int(ci.duration_s))) == 5
    kinds = sorted(s.entry.experiment for s in ci.experiments)
    assert len(kinds) == 2 and any("kill" in k for k in kinds) and any("partition" in k for k in kinds)
    friday = build_timeline(load_gameday("black-friday"))
    assert max(friday.plan.plan_at(t).multiplier for t in range(int(friday.duration_s))) == 10
    assert any(friday.plan.plan_at(t).phase == "spike" for t in range(int(friday.duration_s)))
    for timeline in (smoke, ci, friday):
        assert all(0 <= s.offset_s < timeline.duration_s for s in timeline.experiments)
    for name in ("smoke", "ci", "black-friday"):
        check_experiments(load_gameday(name))  # every experiment they name exists, none twice
    shipped = {p.stem for p in EXPERIMENTS_DIR.glob("*.yaml")}
    assert {s.entry.experiment for s in friday.experiments} == shipped  # black-friday runs every one


def test_an_experiment_at_a_load_step_starts_when_the_plan_holds_that_step(tmp_path: Path) -> None:
    data = {**BASE, "chaos": [{"experiment": "x", "at_step": "5x", "after": "3s"}, {"experiment": "y", "at": "1s"}]}
    timeline = build_timeline(load_gameday(_write(tmp_path, data)))
    # step_s 20: 1x for 20 s, then a 4 s ramp into 5x; held from 24 s on.
    assert [(s.entry.experiment, s.offset_s) for s in timeline.experiments] == [("y", 1.0), ("x", 27.0)]


def test_a_schedule_past_the_end_of_the_load_names_the_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, {**BASE, "chaos": [{"experiment": "x", "at": "1m"}]})
    with pytest.raises(GamedayError, match=r"day.yaml: chaos\[0\]: x at 60s starts past the end of the load \(40s"):
        build_timeline(load_gameday(path))


def test_a_step_the_shape_never_holds_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {**BASE, "chaos": [{"experiment": "x", "at_step": "10x"}]})
    message = r"chaos\[0\]\.at_step: the ramp shape never holds 10x \(its steps: 1x, 5x\)"
    with pytest.raises(GamedayError, match=message):
        build_timeline(load_gameday(path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"stop_conditions": [{"kind": "error_rate", "above": "5%", "for": "soon"}]},
            r"stop_conditions\[0\]\.for: duration 'soon': expected a duration",
        ),
        (
            {"stop_conditions": [{"kind": "error_rate", "above": "150%", "for": "10s"}]},
            r"stop_conditions\[0\]\.above: Input should be less than or equal to 1",
        ),
        ({"stop_conditions": [{"kind": "cpu", "above": 1}]}, r"stop_conditions\[0\]: .*'error_rate', 'latency_p95'"),
        (
            {"stop_conditions": [{"kind": "integrity", "invariants": ["legacy_convergence"]}]},
            r"stop_conditions\[0\]\.invariants: .*legacy_convergence: not an invariant a probe can check",
        ),
        ({"chaos": [{"experiment": "x"}]}, r"chaos\[0\]: give exactly one of `at`"),
        ({"chaos": [{"experiment": "x", "at": "5s", "when": 1}]}, r"chaos\[0\]\.when: unknown key"),
        ({"chaos": [{"experiment": "x", "at_step": "five"}]}, r"chaos\[0\]\.at_step: 'five' is not a load step"),
        ({"shape": "wave"}, r"shape 'wave': unknown"),
        ({"traffic_profile": "nope"}, r"day.yaml: .*nope"),
        ({"colour": "red"}, r"day.yaml: colour: unknown key"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, {**BASE, **change})
    with pytest.raises(GamedayError, match=message):
        build_timeline(load_gameday(path))


def test_an_unknown_game_day_lists_the_known_ones() -> None:
    with pytest.raises(GamedayError, match=r"game day 'tuesday': unknown \(known: .*black-friday.*smoke"):
        load_gameday("tuesday")


def test_stop_conditions_read_percentages_and_durations(tmp_path: Path) -> None:
    data = {
        **BASE,
        "stop_conditions": [
            {"kind": "error_rate", "above": "5%", "for": "1m30s"},
            {"kind": "integrity", "every": "10s"},
        ],
    }
    profile = load_gameday(_write(tmp_path, data))
    rate, integrity = profile.stop_conditions
    assert isinstance(rate, ErrorRateStop) and (rate.above, rate.for_s) == (0.05, 90.0)
    assert isinstance(integrity, IntegrityStop) and integrity.every == 10.0
    assert integrity.invariants == ("stock_conservation", "no_negative_stock")


def test_the_readme_example_is_a_valid_game_day() -> None:
    from doorbuster.gameday.profile import parse_gameday

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("```yaml\nname: my-day\n", 1)[1].split("```", 1)[0]
    profile = parse_gameday(yaml.safe_load("name: my-day\n" + block), "README.md")
    check_experiments(profile)
    timeline = build_timeline(profile)
    assert [s.entry.experiment for s in timeline.experiments] == ["partition-inventory-legacy", "kill-orders-pod"]
    assert {c.kind for c in profile.stop_conditions} == {"error_rate", "latency_p95", "integrity"}
