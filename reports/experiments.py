"""Chaos experiments as checks of the verdict: a failed hypothesis is a breach like a broken invariant.

Each experiment of the run folder becomes one result (kind "experiment") from its verdict
(chaos/<name>.verdict.json, or its journal judged the same way): passed is a pass, failed a
breach (NO-GO, whatever the SLOs say), skipped not applicable with its reason (never a pass),
interrupted not measured (the run cannot vouch for a GO, as an interrupted game day).
"""

from __future__ import annotations

import re

from doorbuster.reports.load import Experiment
from doorbuster.reports.results import FAIL, NO_DATA, NOT_APPLICABLE, PASS, Result

__all__ = ["FAILED_CHECKS", "experiment_phrase", "experiment_results"]

FAILED_CHECKS = "failed_checks"  # the metric: checks the experiment missed (0 = hypothesis held)
_VERDICTS = {"passed": PASS, "failed": FAIL, "skipped": NOT_APPLICABLE, "interrupted": NO_DATA}
# "after the fault, nothing-lost-oversold-or-charged-twice: broken invariants stock_conservation"
_MISSED_CHECK = re.compile(r"^(?P<when>(?:before|during|after) the fault), (?P<probe>[^:]+): (?P<what>.+)$", re.S)
# "probe legacy-converges-after-the-heal failed: legacy did not converge within 3 s": a check of the method
_FAILED_PROBE = re.compile(r"^probe (?P<probe>\S+) failed: (?P<what>.+)$", re.S)
_BROKEN = "broken invariants "
_PHRASE_CHARS = 120  # the headline keeps a reason short; the breach line below has it whole


def _short(text: str) -> str:
    return text if len(text) <= _PHRASE_CHARS else text[: _PHRASE_CHARS - 1].rstrip() + "…"


def _subject(name: str) -> str:
    return f"the {name.replace('-', ' ').replace('_', ' ')} experiment"


def experiment_phrase(name: str, reasons: tuple[str, ...]) -> str:
    """ "the failing payment provider experiment's hypothesis failed after the fault
    (stock_conservation broken)": a failed experiment in business terms, from its first reason."""
    subject = _subject(name)
    first = reasons[0] if reasons else "no reason given"
    probe = _FAILED_PROBE.match(first)
    if probe is not None:
        return f"{subject}'s hypothesis failed ({_short(probe['what'])})"
    missed = _MISSED_CHECK.match(first)
    if missed is None:  # a failed action or rollback, no journal, an aborted run
        return f"{subject} failed ({_short(first)})"
    what = missed["what"]
    if what.startswith(_BROKEN):
        what = f"{what.removeprefix(_BROKEN)} broken"
    return f"{subject}'s hypothesis failed {missed['when']} ({_short(what)})"


def _phrase(x: Experiment, verdict: str) -> str:
    """What the banner says of it: why it failed, that it did not finish, or just its name."""
    if verdict == FAIL:
        return experiment_phrase(x.name, x.reasons)
    return f"{_subject(x.name)} did not finish" if verdict == NO_DATA else _subject(x.name)


def experiment_results(experiments: list[Experiment]) -> list[Result]:
    """One result per experiment of the run; an unknown verdict is not measured, never a pass."""
    results = []
    for x in experiments:
        verdict = _VERDICTS.get(x.verdict, NO_DATA)
        reasons = "; ".join(x.reasons)
        if verdict == PASS:
            measured: float | None = 0.0
        elif verdict == FAIL:
            measured = float(max(1, len(x.reasons)))
        else:
            measured = None
        note = {PASS: "hypothesis held", FAIL: reasons}.get(verdict, f"{x.verdict or 'no verdict'}: {reasons}")
        results.append(
            Result(
                name=f"experiment: {x.name}",
                kind="experiment",
                metric=FAILED_CHECKS,
                scope="steady state before, during and after the fault",
                measured=measured,
                target=0.0,
                direction="max",
                warn=None,
                verdict=verdict,
                source=x.judged_from,
                description=x.title,
                note=note,
                subject=_phrase(x, verdict),
            )
        )
    return results
