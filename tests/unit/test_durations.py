import argparse
import math

import pytest

from doorbuster.durations import DurationError, duration_arg, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("2.5", 2.5),
        ("90s", 90),
        ("1.5s", 1.5),
        ("10m", 600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("250ms", 0.25),
        ("1d2h3m4s", 93784),
        (" 5M ", 300),
        (30, 30),
        (0.5, 0.5),
    ],
)
def test_every_spelling_of_the_grammar_is_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "0s", "0m0s", 0, -1, "-5s"])
def test_zero_and_negative_durations_are_refused_because_no_bound_is_never_spelled_zero(text):
    with pytest.raises(DurationError, match=r"must be more than zero|expected a duration"):
        parse_duration(text, what="--run-time")


@pytest.mark.parametrize("text", ["", "abc", "10x", "1m1h", "1h 30m", "nan", "inf", "1e3", "s", "5 s"])
def test_malformed_durations_name_the_option_and_the_grammar(text):
    with pytest.raises(DurationError) as info:
        parse_duration(text, what="--ttl")
    assert str(info.value).startswith(f"--ttl {text!r}")


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(DurationError, match="finite"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"), [(5400, "1h30m"), (1.5, "1.5s"), (0.25, "250ms"), (60, "1m"), (172800, "2d")]
)
def test_formatting_round_trips(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_argparse_type_reports_the_option():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-time", type=duration_arg("--run-time"))
    assert parser.parse_args(["--run-time", "1h30m"]).run_time == 5400
    with pytest.raises(SystemExit):
        parser.parse_args(["--run-time", "0"])
