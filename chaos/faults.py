"""A timed fault: applied, held for its duration, and healed whatever happens.

Every timed fault action (cut or slow a link, stop a service, freeze pods, break the payment
provider) takes the same steps in the same order, and the order is what makes it safe: the
platform is told when to heal the fault by itself should this process die, and the heal runs
shielded from interrupts even when the apply or the wait failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from doorbuster.chaos.arguments import expiry_s
from doorbuster.chaos.interrupts import shielded

__all__ = ["hold_fault"]


def hold_fault(
    duration_s: float, configuration: Any, apply: Callable[[float], object], heal: Callable[[], object]
) -> float:
    """`apply(expires_in_s)`, wait `duration_s`, then `heal()` even on an error or an interrupt.

    Returns the seconds from the apply to the end of the heal, as the actions report them.
    """
    started = time.monotonic()
    try:
        apply(expiry_s(duration_s, configuration))
        time.sleep(duration_s)
    finally:
        with shielded():
            heal()
    return round(time.monotonic() - started, 3)
