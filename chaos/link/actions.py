"""Actions on a link (a network path such as `inventory->legacy`): partition, slow, heal."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from doorbuster.chaos.arguments import choice, names, seconds, whole
from doorbuster.chaos.faults import hold_fault
from doorbuster.chaos.interrupts import activity, shielded
from doorbuster.chaos.platforms import platform_for

__all__ = ["heal_links", "partition_link", "slow_link"]


@activity
def partition_link(
    link: str | list[str],
    duration_s: float = 10.0,
    mode: str = "blackhole",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Partition `link` (one name, or a list cut together) for `duration_s`, then heal it. `mode`
    is `blackhole` (traffic hangs, new connections are never answered) or `reset` (connections
    are reset). Open connections are cut too. The platform heals by itself shortly after the
    planned end, should this process die.

    Returns `{"links", "mode", "cut_s"}`.
    """
    duration = seconds(duration_s, "duration_s", minimum=0.1)
    mode = choice(mode, "mode", ("blackhole", "reset"))
    wanted = names(link, "link")
    if not wanted:
        raise ActivityFailed("argument link names no link")
    platform = platform_for(configuration)
    cut: list[str] = []

    def cut_all(expires_in_s: float) -> None:
        for name in wanted:
            cut.append(name)  # before the call: a cut that answered late is healed too
            platform.cut_link(name, mode, expires_in_s=expires_in_s)

    def heal_cut() -> None:
        for name in cut:
            platform.heal_link(name)

    cut_s = hold_fault(duration, configuration, cut_all, heal_cut)
    return {"links": wanted, "mode": mode, "cut_s": cut_s}


@activity
def slow_link(
    link: str,
    latency_ms: int = 2000,
    duration_s: float = 10.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """
    Add `latency_ms` to every round trip over `link` for `duration_s`, then heal it.

    Returns `{"link", "latency_ms", "slow_s"}`.
    """
    duration = seconds(duration_s, "duration_s", minimum=0.1)
    latency = whole(latency_ms, "latency_ms", minimum=1, maximum=60_000)
    platform = platform_for(configuration)
    slow_s = hold_fault(
        duration, configuration, lambda expires: platform.slow_link(link, latency, expires_in_s=expires),
        lambda: platform.heal_link(link),
    )  # fmt: skip
    return {"link": link, "latency_ms": latency, "slow_s": slow_s}


@activity
def heal_links(
    links: list[str] | str | None = None, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, list[str]]:
    """
    Heal `links` (every link when empty). Safe on healthy links and on a shop that lacks some
    of them (an embedded shop has no cache link): a rollback.

    Returns `{"healed": [...], "absent": [...]}`.
    """
    platform = platform_for(configuration)
    present = [link.name for link in platform.links()]
    wanted = names(links, "links") or present
    with shielded():
        for link in wanted:
            if link in present:
                platform.heal_link(link)
    return {"healed": [n for n in wanted if n in present], "absent": [n for n in wanted if n not in present]}
