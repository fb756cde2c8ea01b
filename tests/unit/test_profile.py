from pathlib import Path

import pytest

from doorbuster.errors import EXIT_BAD_INPUT
from doorbuster.load.errors import ProfileError
from doorbuster.load.profile import PROFILES_DIR, load_profile, profile_from_dict


def test_default_profile_plans_40_rps_at_1x_with_the_60_30_10_mix() -> None:
    profile = load_profile("default")
    assert profile.one_x_rps == 40
    assert profile.mix == pytest.approx({"browse": 0.6, "search": 0.3, "checkout": 0.1})
    assert 0 < profile.think_min_s <= profile.think_max_s
    assert 0 < profile.doorbuster_share < 1
    assert isinstance(profile.seed, int)


def test_every_shipped_profile_is_valid() -> None:
    names = [p.stem for p in PROFILES_DIR.glob("*.yaml")]
    assert "default" in names
    for name in names:
        assert load_profile(name).one_x_rps > 0


def test_profile_round_trips_through_its_dict_form() -> None:
    profile = load_profile("default")
    again = profile_from_dict(profile.as_dict(), source="meta.json").as_dict()
    original = profile.as_dict()
    assert again.pop("mix") == pytest.approx(original.pop("mix"))
    assert again == original


def test_unknown_top_level_key_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("one_x_rps: 40\nmix: {browse: 1}\nthink_time: 3\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert f"profile {path}: unknown key think_time" in str(exc.value)
    assert exc.value.exit_code == EXIT_BAD_INPUT


def test_unknown_nested_key_is_named_with_its_path() -> None:
    with pytest.raises(ProfileError, match=r"unknown key think_time_s\.avg"):
        profile_from_dict({"one_x_rps": 40, "mix": {"browse": 1}, "think_time_s": {"avg": 1}})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"mix": {"browse": 1}}, "missing required key 'one_x_rps'"),
        ({"one_x_rps": "fast", "mix": {"browse": 1}}, "one_x_rps: input should be a valid number, got 'fast'"),
        ({"one_x_rps": True, "mix": {"browse": 1}}, "one_x_rps: input should be a valid number, got True"),
        ({"one_x_rps": 0, "mix": {"browse": 1}}, "one_x_rps: input should be greater than 0, got 0"),
        ({"one_x_rps": float("nan"), "mix": {"browse": 1}}, "one_x_rps: input should be a finite number, got nan"),
        ({"one_x_rps": 40, "mix": {"browse": float("inf")}}, "mix.browse: input should be a finite number, got inf"),
        ({"one_x_rps": 40, "mix": {"browse": -1}}, "mix.browse: input should be greater than or equal to 0, got -1"),
        ({"one_x_rps": 40, "mix": {"browse": 0}}, "mix weights sum to 0"),
        ({"one_x_rps": 40, "mix": []}, "mix: input should be a valid dictionary, got []"),
        ({"one_x_rps": 40, "mix": {"a": 1}, "doorbuster_share": 1.5}, "doorbuster_share: input should be less than"),
        ({"one_x_rps": 40, "mix": {"a": 1}, "search": {"miss_share": 5}}, "search.miss_share: input should be less"),
        ({"one_x_rps": 40, "mix": {"a": 1}, "seed": "x"}, "seed: input should be a valid integer, got 'x'"),
        (
            {"one_x_rps": 40, "mix": {"a": 1}, "think_time_s": {"min": 3, "max": 1}},
            "think_time_s.max (1.0) is below think_time_s.min (3.0)",
        ),
        ({"one_x_rps": 40, "mix": {"a": 1}, "pacing": {"headroom": 0.5}}, "pacing.headroom: input should be greater"),
        ({"one_x_rps": 40, "mix": {"a": 1}, "pacing": {"max_users": 2.5}}, "pacing.max_users: input should be a valid"),
        ([1, 2], "expected a mapping at the top level, got list"),
    ],
)
def test_malformed_profiles_are_refused_with_the_key_at_fault(doc: object, message: str) -> None:
    with pytest.raises(ProfileError) as exc:
        profile_from_dict(doc, source="x.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("profile x.yaml: ")


def test_a_yaml_nan_is_named_with_its_file_and_key_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "nan.yaml"
    path.write_text("one_x_rps: .nan\nmix: {browse: 1}\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert str(exc.value) == f"profile {path}: one_x_rps: input should be a finite number, got nan"


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"profile 'nope': no such profile .*known: .*default"):
        load_profile("nope")


def test_invalid_yaml_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("one_x_rps: [40\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(path)


def test_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read it"):
        load_profile(tmp_path / "absent.yaml")
