"""An experiment's verdict, judged from its Chaos Toolkit journal, never from `chaos run`'s exit code.

`chaos run` exits 0 when the before-hypothesis already failed, after a failed action, and in
`during-method-only` mode. The journal says what happened; this module reads it:

- passed: every hypothesis check met, every method activity and rollback succeeded;
- failed: a missed before-, during- or after-check, a failed method activity, a failed rollback,
  or an aborted run;
- skipped: the `experiment_applies` check of the before-hypothesis says the experiment does not
  apply to this shop (its reason is kept);
- interrupted: the run was stopped (Ctrl-C, SIGTERM); its faults were healed.

It lives outside chaos/ because three parts read the same judgement: `doorbuster chaos run`
writes it to chaos/<name>.verdict.json, the game day's live progress says it, and the report
judges a run's experiments from it (or from a journal run by hand with plain `chaos run`) while
it may import nothing of chaos/ (docs/architecture.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["APPLIES_FUNC", "VERDICTS", "FaultWindow", "Verdict", "fault_window", "judge", "outcome", "read_verdict"]

APPLIES_FUNC = "experiment_applies"
PASSED, FAILED, SKIPPED, INTERRUPTED = "passed", "failed", "skipped", "interrupted"
VERDICTS = (PASSED, FAILED, SKIPPED, INTERRUPTED)


@dataclass(frozen=True)
class FaultWindow:
    """When the fault was active: first method action's start to the last method action's end."""

    action: str
    start: float
    end: float


@dataclass
class Verdict:
    experiment: str
    title: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    journal_status: str = ""
    fault: FaultWindow | None = None
    healed_after: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # older Chaos Toolkit journals wrote naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def fault_window(journal: dict[str, Any]) -> FaultWindow | None:
    """The fault window as docs/contracts.md defines it.

    Our fault actions hold their fault and heal it themselves, so the window is the method's
    actions: the first one's start to the last one's end. When the run was interrupted or
    aborted, a fault may have lasted until the rollbacks healed it: the window then ends with
    the last rollback.
    """
    runs = [r for r in journal.get("run") or [] if isinstance(r, dict)]
    actions = [r for r in runs if (r.get("activity") or {}).get("type") == "action"]
    if not actions:
        return None
    start = _epoch(actions[0].get("start"))
    end = _epoch(actions[-1].get("end") or actions[-1].get("start"))
    rollbacks = [r for r in journal.get("rollbacks") or [] if isinstance(r, dict)]
    if journal.get("status") in ("interrupted", "aborted") and rollbacks:
        end = _epoch(rollbacks[-1].get("end") or rollbacks[-1].get("start")) or end
    if start is None or end is None:
        return None
    return FaultWindow(str(actions[0]["activity"].get("name", "?")), start, max(start, end))


def _missed(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(state, dict):
        return []
    return [p for p in state.get("probes") or [] if isinstance(p, dict) and not p.get("tolerance_met")]


def _describe(probe_run: dict[str, Any]) -> str:
    name = (probe_run.get("activity") or {}).get("name", "?")
    output = probe_run.get("output")
    if isinstance(output, dict) and output.get("breaches"):
        return f"{name}: {'; '.join(map(str, output['breaches']))}"
    if isinstance(output, dict) and output.get("broken"):
        return f"{name}: broken invariants {', '.join(map(str, output['broken']))}"
    if probe_run.get("status") == "failed":
        return f"{name}: {_exception(probe_run)}"
    return f"{name}: got {output!r:.200}"


def _exception(run: dict[str, Any]) -> str:
    """The activity's error message, without the exception class chaoslib prefixes (twice, at times)."""
    lines = "".join(run.get("exception") or []).strip().splitlines()
    message = lines[-1] if lines else "failed"
    for prefix in ("chaoslib.exceptions.ActivityFailed: ", "ActivityFailed: "):
        while message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _applies_check(state: dict[str, Any] | None) -> str | None:
    """The reason an `experiment_applies` check gave for not applying, if that is why the hypothesis missed."""
    for probe_run in _missed(state):
        provider = (probe_run.get("activity") or {}).get("provider") or {}
        output = probe_run.get("output")
        if provider.get("func") == APPLIES_FUNC and isinstance(output, dict) and output.get("applies") is False:
            return str(output.get("reason") or "the experiment does not apply to this shop")
    return None


def judge(journal: dict[str, Any], experiment: str) -> Verdict:
    title = str((journal.get("experiment") or {}).get("title") or experiment)
    status = str(journal.get("status") or "")
    verdict = Verdict(experiment, title, PASSED, journal_status=status, fault=fault_window(journal))
    states = journal.get("steady_states") or {}
    before = states.get("before")
    if status == "interrupted":
        verdict.verdict = INTERRUPTED
        verdict.reasons.append("the run was interrupted; its faults were rolled back")
        return verdict
    skip = _applies_check(before)
    if skip is not None:
        verdict.verdict = SKIPPED
        verdict.reasons.append(skip)
        return verdict
    reasons = verdict.reasons
    if isinstance(before, dict) and not before.get("steady_state_met"):
        reasons += [f"before the fault, {_describe(p)}" for p in _missed(before)] or ["the before-check missed"]
    for during in states.get("during") or []:
        if isinstance(during, dict) and not during.get("steady_state_met"):
            reasons += [f"during the fault, {_describe(p)}" for p in _missed(during)] or ["a during-check missed"]
    for run in journal.get("run") or []:
        if isinstance(run, dict) and run.get("status") == "failed":
            activity = run.get("activity") or {}
            reasons.append(f"{activity.get('type', 'activity')} {activity.get('name', '?')} failed: {_exception(run)}")
    after = states.get("after")
    if isinstance(after, dict) and not after.get("steady_state_met"):
        reasons += [f"after the fault, {_describe(p)}" for p in _missed(after)] or ["the after-check missed"]
    for run in journal.get("rollbacks") or []:
        if isinstance(run, dict) and run.get("status") == "failed":
            name = (run.get("activity") or {}).get("name", "?")
            reasons.append(f"rollback {name} failed: {_exception(run)}")
    if status == "aborted" and not reasons:
        reasons.append("Chaos Toolkit aborted the run")
    if before is None and status != "completed" and not reasons:
        reasons.append(f"the run ended with status {status or 'unknown'} before any check")
    if reasons:
        verdict.verdict = FAILED
    return verdict


def read_verdict(path: Path) -> Verdict | None:
    """chaos/<name>.verdict.json as written by `doorbuster chaos run`; None when there is none.
    ValueError, its message naming the file, when it is not a verdict."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable experiment verdict: {exc}") from None
    if not isinstance(doc, dict) or doc.get("verdict") not in VERDICTS:
        raise ValueError(f"{path}: 'verdict' must be one of {', '.join(VERDICTS)} (docs/contracts.md, section 1)")
    reasons = doc.get("reasons") or []
    fault = doc.get("fault")
    window = None
    if isinstance(fault, dict) and all(isinstance(fault.get(k), int | float) for k in ("start", "end")):
        window = FaultWindow(str(fault.get("action", "?")), float(fault["start"]), float(fault["end"]))
    stem = path.name.removesuffix(".verdict.json")
    return Verdict(
        experiment=str(doc.get("experiment") or stem),
        title=str(doc.get("title") or doc.get("experiment") or stem),
        verdict=doc["verdict"],
        reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [str(reasons)],
        journal_status=str(doc.get("journal_status") or ""),
        fault=window,
        healed_after=[str(h) for h in doc.get("healed_after") or []],
    )


def outcome(verdict: Verdict) -> str:
    """The verdict in a few words, as the game day's progress says it."""
    first = verdict.reasons[0] if verdict.reasons else ""
    if verdict.verdict == FAILED:
        return f"hypothesis FAILED: {first or 'see its journal'}"
    if verdict.verdict == SKIPPED:
        return f"skipped: {first or 'does not apply to this shop'}"
    if verdict.verdict == INTERRUPTED:
        return "interrupted, healed"
    return "hypothesis held"
