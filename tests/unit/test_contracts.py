"""The contracts between the shop and the suite have one home (retailflow/contracts.py), and
the real audit writes exactly the invariant names the report judges."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from doorbuster import runfolder
from doorbuster.reports.checks import INVARIANTS as REPORT_INVARIANTS
from doorbuster.reports.checks import integrity_results
from doorbuster.reports.results import FAIL, NO_DATA, PASS
from retailflow import contracts
from retailflow.audit import run_audit
from retailflow.common.config import ServiceConfig
from tests.support.audit_stores import DAMAGE, DAMAGE_IDS, Stores, built_stores

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("retailflow", "doorbuster", "reports", "scenarios", "chaos", "fixtures", "bench")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with built_stores(ServiceConfig("gateway", data_dir=tmp_path)) as stores:
        yield stores


def audit_json(stores: Stores, tmp_path: Path) -> dict[str, Any]:
    """The real audit over the real stores, through audit.json as the run folder carries it."""
    path = tmp_path / runfolder.AUDIT
    path.write_text(json.dumps(run_audit(stores.config, stores.ledger)))
    return dict(json.loads(path.read_text()))


def verdicts(audit: dict[str, Any] | None) -> dict[str, str]:
    return {r.name.removeprefix("integrity: "): r.verdict for r in integrity_results(audit, ("all",))}


def test_the_real_audit_writes_exactly_the_invariants_the_report_judges(stores: Stores, tmp_path: Path) -> None:
    audit = audit_json(stores, tmp_path)
    written = [inv["name"] for inv in audit["invariants"]]
    assert written == list(contracts.INVARIANTS)
    assert REPORT_INVARIANTS == contracts.INVARIANTS
    # The report judges every name the audit wrote, and expects none the audit did not write.
    assert verdicts(audit) == dict.fromkeys(written, PASS)
    assert verdicts(None) == dict.fromkeys(written, NO_DATA)


@pytest.mark.parametrize(("damage", "invariant"), [d[:2] for d in DAMAGE], ids=DAMAGE_IDS)
def test_a_broken_invariant_in_the_real_audit_is_a_failed_verdict_in_the_report(
    stores: Stores, tmp_path: Path, damage: Callable[[Stores], None], invariant: str
) -> None:
    damage(stores)
    judged = verdicts(audit_json(stores, tmp_path))
    assert judged == {name: FAIL if name == invariant else PASS for name in contracts.INVARIANTS}


def test_the_report_flags_an_invariant_the_audit_did_not_write(stores: Stores, tmp_path: Path) -> None:
    audit = audit_json(stores, tmp_path)
    audit["invariants"] = [inv for inv in audit["invariants"] if inv["name"] != contracts.NO_NEGATIVE_STOCK]
    assert verdicts(audit)[contracts.NO_NEGATIVE_STOCK] == NO_DATA


def _contracts_doc_row(file_name: str) -> str:
    doc = (ROOT / "docs" / "contracts.md").read_text()
    row = next((line for line in doc.splitlines() if line.startswith(f"| `{file_name}`")), None)
    assert row is not None, f"docs/contracts.md has no row for {file_name}"
    return row


def test_docs_list_the_invariant_names_of_the_contract_in_its_order() -> None:
    row = _contracts_doc_row(runfolder.AUDIT)
    names = re.findall(r"`([a-z_]+)`", row.split("with names", 1)[1].split(".", 1)[0])
    assert tuple(names) == contracts.INVARIANTS


def test_docs_list_the_ledger_columns_of_the_contract() -> None:
    row = _contracts_doc_row(runfolder.LEDGER)
    columns = row.split("|")[3].split("`")[1]
    assert tuple(c.strip() for c in columns.split(",")) == contracts.LEDGER_COLUMNS
    assert runfolder.LEDGER_COLUMNS is contracts.LEDGER_COLUMNS


def _assigned_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in tree.body:  # module level: where a constant is defined
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_no_module_defines_its_own_copy_of_a_contract_name() -> None:
    home = ROOT / "retailflow" / "contracts.py"
    copies = [
        f"{path.relative_to(ROOT)} defines {name}"
        for package in SOURCE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != home
        for name in sorted(_assigned_names(path) & set(contracts.__all__))
    ]
    assert copies == []


def test_the_copy_check_finds_a_module_that_defines_its_own_limit(tmp_path: Path) -> None:
    module = tmp_path / "cart.py"
    module.write_text("MAX_QTY = 100\nKEY_LENGTH: int = 200\n")
    assert _assigned_names(module) == {"MAX_QTY", "KEY_LENGTH"}


def test_the_contract_module_imports_nothing() -> None:
    tree = ast.parse((ROOT / "retailflow" / "contracts.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [ast.unparse(n) for n in imports] == ["from __future__ import annotations"]
