"""The public surface for a shop of your own: the journeys API, the hooks-only locustfile, the
audit contract's validation, and plain Locust users under a shape."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from doorbuster.integrity import AuditCommandError, validate_audit
from doorbuster.load.closed_users import closed_demand, mean_wait_s, plain_user_classes
from doorbuster.load.errors import LoadError
from doorbuster.load.profile import profile_from_dict

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_API = "doorbuster.journeys"


def _public_names(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} not found"
    tree = ast.parse(Path(spec.origin).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no __all__")


def test_retailflow_journeys_import_the_suite_only_through_the_public_journeys_api() -> None:
    api = _public_names(PUBLIC_API)
    seen = set()
    for path in sorted((ROOT / "scenarios").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("doorbuster"), f"{path.name}: import {alias.name}"
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [a.name for a in node.names]
                assert not any(n.startswith("_") for n in names), f"{path.name}: private name from {node.module}"
                if node.module.startswith("doorbuster.scenarios."):
                    public = _public_names(node.module)
                    assert set(names) <= public, f"{path.name}: {set(names) - public} not public in {node.module}"
                elif node.module.startswith("doorbuster"):
                    assert node.module == PUBLIC_API, f"{path.name}: from {node.module} import {names}"
                    assert set(names) <= api, f"{path.name}: {set(names) - api} are not in {PUBLIC_API}.__all__"
                    seen |= set(names)
    # The three things the issue asks of the API are what the journeys really use.
    assert {"PacedUser", "confirmed_order", "business_answer"} <= seen


@pytest.mark.parametrize("hooks", ["doorbuster/load/locustfiles/suite.py", "doorbuster/suite.py"])
def test_the_module_that_brings_our_hooks_defines_no_user_class(hooks: str) -> None:
    # Asked of Locust's own loader: RetailFlow's journeys can never ride along to another shop.
    out = subprocess.run(
        [sys.executable, "-m", "doorbuster.load.locustfile_check", str(ROOT / hooks)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "error": "defines no User class (Locust would find no user to run)"
    }, out.stderr[-500:]


def _audit(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "ok": False,
        "checked_at": "2026-11-30T01:00:00+00:00",
        "invariants": [
            {"name": "bookings_kept", "ok": False, "violations": 2, "details": [{"booking": "b1", "problem": "lost"}]},
            {"name": "no_overbooking", "ok": True, "violations": 0, "details": []},
        ],
    }
    doc.update(changes)
    return doc


def test_an_audit_in_the_contracts_shape_is_accepted_broken_invariants_and_all() -> None:
    doc = validate_audit(_audit(), "audit.json")
    assert [i.name for i in doc.invariants if not i.ok] == ["bookings_kept"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ok": True}, "top level: Value error, ok=True disagrees with the invariants' own ok"),
        ({"checked_at": "yesterday"}, "checked_at 'yesterday' is not an ISO-8601 time"),
        ({"invariants": []}, "invariants: List should have at least 1 item"),
        ({"invariants": [{"name": "x", "ok": True, "violations": 3}]}, "invariant 'x': ok=True with 3 violation(s)"),
        ({"invariants": [{"name": "x", "ok": "yes", "violations": 0}]}, "invariants.0.ok: Input should be a valid"),
        ({"verdict": "fine"}, "verdict: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_audit_is_refused_naming_the_key(changes: dict[str, object], message: str) -> None:
    with pytest.raises(AuditCommandError) as err:
        validate_audit(_audit(**changes), "audit.json from --audit-cmd")
    assert str(err.value).startswith("audit.json from --audit-cmd: ")
    assert message in str(err.value)


class _Plain:
    weight = 3

    @staticmethod
    def wait_time(_user: object) -> float:
        return 2.0


class _Other:
    weight = 1
    wait_time = None


class _Paced:
    journey = "buy"


def test_plain_users_are_sized_by_the_shape_from_their_wait_and_weight() -> None:
    profile = profile_from_dict({"one_x_rps": 10, "mix": {"browse": 1}, "pacing": {"expected_latency_ms": 100}})
    assert mean_wait_s(_Plain) == 2.0 and mean_wait_s(_Other) == 0.0
    demand = closed_demand([_Plain, _Other], profile, min_users=1)
    shares = {j.journey: (j.share, j.duration_s) for j in demand.journeys}
    assert shares == {"_Plain": (0.75, pytest.approx(2.1)), "_Other": (0.25, pytest.approx(0.1))}
    # 10 req/s: 7.5 of them from users that each offer one per 2.1 s (Little's law), plus one spare
    assert demand.users(10.0) == {"_Plain": 17, "_Other": 2}


def test_a_locustfile_mixing_paced_journeys_and_plain_users_is_refused_naming_both() -> None:
    assert plain_user_classes([_Paced]) == []
    assert plain_user_classes([_Plain]) == [_Plain]
    with pytest.raises(LoadError, match=r"mixes paced journeys \(_Paced\) with plain users \(_Plain\)"):
        plain_user_classes([_Paced, _Plain])


def test_a_plain_users_requests_carry_its_class_name_as_journey_and_keep_its_own_context() -> None:
    from doorbuster.load.closed_users import name_journeys

    class Base:
        def context(self) -> dict[str, object]:
            return {}

    class Visitor(Base):
        pass

    class Tenant(Base):
        def context(self) -> dict[str, object]:
            return {"tenant": "t1", "journey": "signup"}

    name_journeys([Visitor, Tenant])
    name_journeys([Visitor])  # wrapped once, however often
    assert Visitor().context() == {"journey": "Visitor"}
    assert Tenant().context() == {"journey": "signup", "tenant": "t1"}
