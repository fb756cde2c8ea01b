"""Choosing the pods an action hits: a quantity or a percentage, at random or in order."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from chaoslib.exceptions import ActivityFailed

from chaos.arguments import choice, whole
from chaos.platforms.base import Pod

__all__ = ["select_pods"]


def select_pods(pods: Sequence[Pod], *, service: str, qty: Any, mode: Any, rand: bool, all: bool) -> list[Pod]:
    """`qty` pods (mode `fixed`) or `qty` percent of them (mode `percentage`, rounded up)."""
    if not pods:
        raise ActivityFailed(f"service {service!r} has no pods to act on")
    if all:
        return list(pods)
    mode = choice(mode, "mode", ("fixed", "percentage"))
    if mode == "fixed":
        count = whole(qty, "qty", minimum=1, maximum=len(pods))
    else:
        percent = whole(qty, "qty", minimum=1, maximum=100)
        count = max(1, math.ceil(len(pods) * percent / 100))
    return random.sample(list(pods), count) if rand else list(pods)[:count]
