"""The SLO file: the case study's defaults, and clear errors naming the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.errors import ReportError
from reports.slo import load_slo_file, parse_slo


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
        (_slo(colour="red"), "slos[0].colour: unknown key"),
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
    assert f"SLO file {path} is not valid YAML" in str(caught.value)


def test_a_missing_slo_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as caught:
        load_slo_file(tmp_path / "nope.yaml")
    assert str(caught.value) == f"SLO file {tmp_path / 'nope.yaml'} does not exist"
