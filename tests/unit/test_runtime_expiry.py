"""The dead-man switch: an armed heal runs once its expiry passes, unless disarmed or re-armed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from retailflow.runtime.errors import ControlError
from retailflow.runtime.expiry import DEFAULT_EXPIRY_S, Expiries, parse_expiry


async def _until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Let the loop run until `check` holds; fail naming `what` after `timeout` s (a stalled CI
    machine delays a heal, it does not lose it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        await asyncio.sleep(0.005)


def test_a_fault_heals_by_itself_when_its_expiry_passes() -> None:
    async def scenario() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        healed: dict[str, float] = {}  # fault -> seconds after arming that its heal ran
        armed = loop.time()
        expiries = Expiries()
        expiries.arm("link:a", 0.05, lambda: healed.setdefault("a", loop.time() - armed), "link a blackhole")
        # b would expire before a: once a has healed, b's time has passed too.
        expiries.arm("link:b", 0.02, lambda: healed.setdefault("b", loop.time() - armed), "link b blackhole")
        expiries.disarm("link:b")  # healed by hand: no second heal later
        assert [f["fault"] for f in expiries.snapshot()] == ["link:a"]
        await _until(lambda: "a" in healed, "link a to heal")
        assert expiries.snapshot() == []
        return healed

    healed = asyncio.run(scenario())
    assert list(healed) == ["a"]
    assert healed["a"] >= 0.05 - 0.005  # not before its expiry (the loop's clock resolution aside)


def test_re_arming_replaces_the_expiry_and_a_failing_heal_spares_the_others() -> None:
    async def scenario() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        healed: dict[str, float] = {}
        armed = loop.time()
        expiries = Expiries()
        expiries.arm("pod:x", 0.05, lambda: healed.setdefault("early", loop.time() - armed), "frozen")
        expiries.arm("pod:x", 0.3, lambda: healed.setdefault("late", loop.time() - armed), "frozen again")
        expiries.arm("boom", 0.05, lambda: 1 / 0, "a heal that fails")
        await _until(lambda: "late" in healed, "the re-armed heal")
        return healed

    healed = asyncio.run(scenario())
    # The replaced heal never ran, though its 0.05 s passed long before the late one's 0.3 s,
    # and the heal that failed at 0.05 s did not stop the late one.
    assert list(healed) == ["late"]
    assert healed["late"] >= 0.3 - 0.005  # the new expiry, not the first one


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
