"""`integrity_audit`, the chaos probe of the shop's integrity: it re-checks while the shop
settles, and its journal entry names what broke, not just which invariant."""

from __future__ import annotations

from typing import Any

import pytest

from doorbuster.chaos.shop import probes


class Audits:
    """A platform whose audit answers the given audits in turn, then the last one again."""

    def __init__(self, *audits: dict[str, Any]) -> None:
        self.audits = list(audits)
        self.calls = 0

    def audit(self, ledger: list[dict[str, Any]], timeout_s: float) -> dict[str, Any]:
        self.calls += 1
        return self.audits.pop(0) if len(self.audits) > 1 else self.audits[0]


def audit(*stock_problems: dict[str, Any]) -> dict[str, Any]:
    details = [*stock_problems, {"note": "2 orders still in flight (neither confirmed nor failed)"}]
    return {
        "ok": not stock_problems,
        "invariants": [
            {"name": "no_double_capture", "ok": True, "violations": 0, "details": []},
            {"name": "stock_conservation", "ok": not stock_problems, "violations": len(stock_problems),
             "details": details},
        ],
    }  # fmt: skip


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> list[Audits]:
    chosen: list[Audits] = []
    monkeypatch.setattr(probes, "platform_for", lambda configuration: chosen[0])
    return chosen


def test_a_violation_that_stays_is_reported_with_its_sku_and_problem(platform: list[Audits]) -> None:
    leak = {"sku": "DB-1", "problem": "sold 4 != 3 units bought by orders"}
    platform.append(Audits(audit(leak)))
    result = probes.integrity_audit(settle_s=0)
    assert result["broken"] == ["stock_conservation"]
    assert result["violations"] == 1
    assert result["problems"] == [{"invariant": "stock_conservation", **leak}]


def test_problems_are_capped_but_the_violations_are_all_counted(platform: list[Audits]) -> None:
    many = [{"sku": f"SKU-{i}", "problem": "reserved 1 != 0 units held by open reservations"} for i in range(25)]
    platform.append(Audits(audit(*many)))
    result = probes.integrity_audit(settle_s=0)
    assert result["violations"] == 25
    assert [p["sku"] for p in result["problems"]] == [f"SKU-{i}" for i in range(probes.MAX_PROBLEMS)]


def test_a_violation_that_heals_while_settling_leaves_a_clean_answer(platform: list[Audits]) -> None:
    platform.append(Audits(audit({"sku": "DB-1", "problem": "sold 4 != 3 units bought by orders"}), audit()))
    result = probes.integrity_audit(settle_s=5)
    assert result["ok"] is True
    assert result["problems"] == []
    assert result["looks"] == platform[0].calls == 2
