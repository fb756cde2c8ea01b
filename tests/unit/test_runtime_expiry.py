"""The dead-man switch: an armed heal runs once its expiry passes, unless disarmed or re-armed."""

from __future__ import annotations

import asyncio

import pytest

from retailflow.runtime.errors import ControlError
from retailflow.runtime.expiry import DEFAULT_EXPIRY_S, Expiries, parse_expiry


def test_a_fault_heals_by_itself_when_its_expiry_passes() -> None:
    async def scenario() -> list[str]:
        healed: list[str] = []
        expiries = Expiries()
        expiries.arm("link:a", 0.05, lambda: healed.append("a"), "link a blackhole")
        expiries.arm("link:b", 0.05, lambda: healed.append("b"), "link b blackhole")
        expiries.disarm("link:b")  # healed by hand: no second heal later
        assert [f["fault"] for f in expiries.snapshot()] == ["link:a"]
        await asyncio.sleep(0.15)
        assert expiries.snapshot() == []
        return healed

    assert asyncio.run(scenario()) == ["a"]


def test_re_arming_replaces_the_expiry_and_a_failing_heal_spares_the_others() -> None:
    async def scenario() -> list[str]:
        healed: list[str] = []
        expiries = Expiries()
        expiries.arm("pod:x", 0.05, lambda: healed.append("early"), "frozen")
        expiries.arm("pod:x", 0.2, lambda: healed.append("late"), "frozen again")
        expiries.arm("boom", 0.05, lambda: 1 / 0, "a heal that fails")
        await asyncio.sleep(0.1)
        assert healed == []
        await asyncio.sleep(0.2)
        return healed

    assert asyncio.run(scenario()) == ["late"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expires_in_s": "soon"}, "expires_in_s 'soon' must be a number of seconds"),
        ({"expires_in_s": 0}, "expires_in_s 0 must be more than 0 and at most 21600"),
        ({"expires_in_s": True}, "expires_in_s True must be a number of seconds"),
    ],
)
def test_a_bad_expiry_is_refused_naming_the_value(body: dict[str, object], message: str) -> None:
    with pytest.raises(ControlError) as caught:
        parse_expiry(body)
    assert (caught.value.status, caught.value.detail) == (422, message)


def test_a_fault_without_an_expiry_still_gets_one() -> None:
    assert parse_expiry({}) == DEFAULT_EXPIRY_S
