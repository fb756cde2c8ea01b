"""The per-client token bucket, with an injected clock; and the gateway's settings from the environment."""

from __future__ import annotations

import pytest

from retailflow.common.errors import ConfigError
from retailflow.gateway.ratelimit import RateLimiter
from retailflow.gateway.settings import GatewaySettings


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_at_once_then_is_told_when_the_next_token_is_due() -> None:
    limiter = RateLimiter(rate=10, burst=3, clock=Clock())
    assert [limiter.acquire("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("10.0.0.1") == pytest.approx(0.1)


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=3, clock=clock)
    for _ in range(3):
        limiter.acquire("a")
    clock.now += 0.1  # one token back
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    clock.now += 60  # a long idle spell saves up only `burst`
    assert [limiter.acquire("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") > 0


def test_refused_calls_do_not_dig_the_bucket_deeper() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    limiter.acquire("a")
    for _ in range(50):
        assert limiter.acquire("a") > 0
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0


def test_each_client_has_its_own_bucket() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=Clock())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_the_bucket_table_stays_bounded_and_forgets_idle_clients_first() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock, max_keys=3)
    limiter.acquire("old")
    clock.now += 10  # "old" has refilled: it carries no information
    limiter.acquire("b")
    limiter.acquire("c")
    limiter.acquire("d")  # the table is full: the idle bucket goes
    assert len(limiter._buckets) == 3
    assert "old" not in limiter._buckets
    assert limiter.acquire("b") > 0  # a busy client kept its state


def test_a_nonsense_rate_is_refused_with_the_values_named() -> None:
    with pytest.raises(ValueError, match="rate=0 burst=5"):
        RateLimiter(rate=0, burst=5)


def test_settings_default_to_a_limit_a_ten_x_load_test_from_one_ip_does_not_reach() -> None:
    settings = GatewaySettings.from_env({})
    assert settings.rate_limit_rps >= 2000
    assert settings.breaker_failures == 5


def test_settings_read_the_environment() -> None:
    settings = GatewaySettings.from_env(
        {
            "RF_RATE_LIMIT_RPS": "5",
            "RF_BREAKER_FAILURES": "2",
            "RF_BREAKER_COOLDOWN_S": "0.5",
            "RF_CATALOG_TIMEOUT_S": "0.3",
        }
    )
    assert (settings.rate_limit_rps, settings.rate_limit_burst) == (5, 5)
    assert settings.breaker_failures == 2
    assert settings.breaker_cooldown_s == 0.5
    assert settings.timeouts_s["catalog"] == 0.3
    assert settings.timeouts_s["orders"] == 10.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RF_RATE_LIMIT_RPS": "lots"}, "RF_RATE_LIMIT_RPS='lots' is not a number"),
        ({"RF_BREAKER_FAILURES": "0"}, "RF_BREAKER_FAILURES=0 is below its minimum 1"),
        ({"RF_INVENTORY_TIMEOUT_S": "0"}, "RF_INVENTORY_TIMEOUT_S=0 is below its minimum 0.05"),
    ],
)
def test_nonsense_settings_fail_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        GatewaySettings.from_env(env)
