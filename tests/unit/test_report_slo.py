"""The SLO file: the case study's defaults, and clear errors naming the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorbuster.reports.errors import ReportError
from doorbuster.reports.slo import load_slo_file, parse_slo


def test_default_slo_file_carries_the_case_study_targets() -> None:
    slo = load_slo_file()
    by_name = {o.name: o for o in slo.objectives}
    assert (by_name["page-time-average"].metric, by_name["page-time-average"].bound) == ("latency_mean_ms", 2000)
    assert (by_name["checkout-p95"].metric, by_name["checkout-p95"].bound) == ("latency_p95_ms", 3000)
    assert (by_name["search-p95"].bound, by_name["error-rate"].bound) == (250, 0.0015)
    assert (by_name["availability"].direction, by_name["availability"].bound) == ("min", 0.999)
    assert by_name["sustained-5x"].bound == 5
    assert slo.faults[0].recovery_s_max == 300
    assert slo.integrity == ("all",)


def _slo(**entry: object) -> dict[str, object]:
    return {"slos": [{"name": "x", "metric": "latency_p95_ms", "max": 100, **entry}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_slo(metric="latency_p95"), "slos[0] (x).metric: unknown metric 'latency_p95'"),
        (_slo(warn=200), "slos[0] (x).warn: warning level 200 is beyond the failing level 100"),
        (_slo(phase="lunch"), "slos[0] (x).phase: unknown phase 'lunch'"),
        (_slo(max="fast"), "slos[0] (x).max: expected a number, got 'fast'"),
        (_slo(min=1), "slos[0] (x): give exactly one of max or min"),
        (_slo(metric="availability", max=1), "slos[0] (x).max: availability is bounded by min, not max"),
        (_slo(colour="red"), "slos[0] (x).colour: unknown key (allowed: description, endpoint, exclude,"),
        ({"slos": [{"metric": "error_rate", "max": 1}]}, "slos[0].name: every SLO needs a non-empty name"),
        ({"load": {"min_achieved_ratio": "most"}}, "load.min_achieved_ratio: expected a number, got 'most'"),
        ({"slos": []}, "nothing to evaluate"),
    ],
)
def test_a_malformed_slo_file_names_the_offending_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_slo(data, "my-slo.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("SLO file my-slo.yaml")
    assert caught.value.exit_code == 2


def test_an_slo_file_that_is_not_yaml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text("slos: [unclosed\n", encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        load_slo_file(path)
    assert f"SLO file {path}: not valid YAML" in str(caught.value)


def test_a_missing_slo_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as caught:
        load_slo_file(tmp_path / "nope.yaml")
    assert str(caught.value) == f"SLO file {tmp_path / 'nope.yaml'}: cannot read it (No such file or directory)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _slo(metric="error_rate", max=5),
            "slos[0] (x).max: 5 is not a ratio: error_rate lies between 0 and 1 (write 0.05 for 5%)",
        ),
        (_slo(metric="availability", max=None, min=99.9), "slos[0] (x).min: 99.9 is not a ratio: availability lies"),
        (_slo(metric="error_rate", max=0.01, warn=2), "slos[0] (x).warn: 2 is not a ratio"),
        (_slo(max=float("nan")), "slos[0] (x).max: must be a finite number, got nan"),
        (_slo(max=float("inf")), "slos[0] (x).max: must be a finite number, got inf"),
        (_slo(max=True), "slos[0] (x).max: expected a number, got True"),
        (_slo(max=-1), "slos[0] (x).max: must be >= 0, got -1"),
        (_slo(min_requests=2.5), "slos[0] (x).min_requests: expected a whole number, got 2.5"),
        ({"settings": {"good_minute_ratio": 1.5}}, "settings.good_minute_ratio: must be <= 1, got 1.5"),
        ({"settings": {"window_s": "0s"}}, "settings.window_s: '0s': must be more than zero"),
        ({"settings": {"window_s": "soon"}}, "settings.window_s: 'soon': expected a duration such as 90"),
        (
            {"settings": {"window": 10}},
            "settings.window: unknown key (allowed: good_minute_ratio, min_requests, window_s)",
        ),
        ({"faults": [{"error_rate_max": 5}]}, "faults[0].error_rate_max: must be <= 1, got 5"),
        ({"load": {"max_generator_cpu_percent": float("nan")}}, "load.max_generator_cpu_percent: must be a finite"),
        ({"baseline": {"fail_on_regression": "yes"}}, "baseline.fail_on_regression: expected true or false, got 'yes'"),
        (
            {
                "slos": [
                    {"name": "a", "metric": "error_rate", "max": 0.1},
                    {"name": "a", "metric": "error_rate", "max": 1},
                ]
            },
            "slos[1] (a).name: duplicate SLO name",
        ),
        ({"version": 2, "slos": [{"name": "a", "metric": "error_rate", "max": 0.1}]}, "version: unknown version 2"),
    ],
)
def test_numbers_ratios_and_durations_are_validated_with_the_key_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_slo(data, "my-slo.yaml")
    assert str(caught.value).startswith("SLO file my-slo.yaml: ")
    assert message in str(caught.value)


def test_durations_follow_the_suites_one_grammar(tmp_path: Path) -> None:
    slo = parse_slo(
        {"settings": {"window_s": "5s", "min_requests": 50}, "recovery": {"sustain_s": "1m"},
         "faults": [{"recovery_s_max": "5m", "recovery_s_warn": 90}]},
        "d.yaml",
    )  # fmt: skip
    assert (slo.settings.window_s, slo.settings.recovery_sustain_s, slo.settings.min_requests) == (5.0, 60.0, 50)
    assert (slo.faults[0].recovery_s_max, slo.faults[0].recovery_s_warn) == (300.0, 90.0)


def test_yaml_nan_in_a_file_is_an_error_naming_the_file_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text("slos:\n  - name: fast\n    metric: latency_p95_ms\n    max: .nan\n", encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        load_slo_file(path)
    assert str(caught.value) == f"SLO file {path}: slos[0] (fast).max: must be a finite number, got nan"


def test_min_requests_defaults_to_the_files_setting_and_can_be_set_per_slo() -> None:
    slo = parse_slo(
        {"settings": {"min_requests": 40}, "slos": [
            {"name": "a", "metric": "error_rate", "max": 0.01},
            {"name": "b", "metric": "error_rate", "max": 0.01, "min_requests": 5, "subject": "checkouts"}]},
        "m.yaml",
    )  # fmt: skip
    assert [(o.min_requests, o.subject) for o in slo.objectives] == [(40, ""), (5, "checkouts")]
