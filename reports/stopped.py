"""A game day that stopped early (stop.json, written by `doorbuster gameday`): a fired stop
condition is a failed result of its own and makes the verdict NO-GO; an interrupt says the run is
partial, so GO becomes INCONCLUSIVE at best."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from doorbuster import runfolder as rf
from doorbuster.reports.evaluate import GO, INCONCLUSIVE, NO_GO, Evaluation, decide
from doorbuster.reports.results import FAIL, Result

__all__ = ["apply_stop_record", "read_stop_record"]


def read_stop_record(run_dir: str | Path) -> dict[str, Any] | None:
    try:
        record = json.loads((Path(run_dir) / rf.STOP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _when(record: dict[str, Any]) -> str:
    offset = record.get("offset_s")
    at = f"+{offset:.0f} s into the load" if isinstance(offset, int | float) else "before the load started"
    return f"{at} ({record.get('fired_at', '?')})"


def _faults(record: dict[str, Any]) -> str:
    parts = []
    if record.get("rolled_back"):
        parts.append(f"rolled back: {', '.join(record['rolled_back'])}")
    if record.get("not_started"):
        parts.append(f"not started: {', '.join(record['not_started'])}")
    if record.get("timed_out"):  # absent from a stop.json written before it was recorded apart
        parts.append(f"ended by the game day for running past its timeout (healed): {', '.join(record['timed_out'])}")
    return f"; {'; '.join(parts)}" if parts else ""


def _rewrite(ev: Evaluation, verdict: str, reason: str, *, breach: bool) -> None:
    """Set the verdict and put `reason` first, in the evaluation's (frozen) banner."""
    banner = ev.banner
    if breach:
        headline = f"{verdict}: {reason}"
        ev.banner = replace(banner, verdict=verdict, headline=headline, breaches=(reason, *banner.breaches))
    else:
        headline = banner.headline if verdict == banner.verdict else f"{verdict}: {reason}"
        ev.banner = replace(banner, verdict=verdict, headline=headline, unproven=(reason, *banner.unproven))


def apply_stop_record(ev: Evaluation, run_dir: str | Path) -> None:
    """Fold stop.json into the evaluation: a result, a first reason, and the verdict."""
    record = read_stop_record(run_dir)
    if record is None:
        return
    if record.get("kind") == "stop_condition":
        measured = record.get("measured")
        threshold = record.get("threshold")
        ev.results.insert(
            0,
            Result(
                name=f"stop condition: {record.get('condition', '?')}",
                kind="stop",
                metric=str(record.get("metric", "")),
                scope=_when(record),
                measured=float(measured) if isinstance(measured, int | float) else None,
                target=float(threshold) if isinstance(threshold, int | float) else 0.0,
                direction="max",
                warn=None,
                verdict=FAIL,
                source=rf.STOP,
                description=str(record.get("rule", "")),
                note=str(record.get("detail", "")),
            ),
        )
        decide(ev)
        _rewrite(
            ev,
            NO_GO,
            f"stopped early: stop condition {record.get('condition')!r} ({record.get('rule')}) "
            f"fired {_when(record)}: {record.get('detail')}{_faults(record)}",
            breach=True,
        )
        return
    decide(ev)
    _rewrite(
        ev,
        INCONCLUSIVE if ev.verdict == GO else ev.verdict,
        f"interrupted ({record.get('condition')}) {_when(record)}: the verdict covers only what was measured "
        f"until then{_faults(record)}",
        breach=False,
    )
