"""Dependencies point one way (docs/architecture.md): the suite may import the shop, never the
reverse; benchmarks never import the tests; the shop's processes never import Locust. Imports
are read with ast from every file, lazy imports inside functions included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Folders of the suite. reports, scenarios, chaos and fixtures are installed as doorbuster.<name>
# (docs/architecture.md, "Install"), so a module name is mapped back to its folder first.
SUITE = ("doorbuster", "reports", "scenarios", "chaos", "fixtures", "locustfile")
INSTALLED_UNDER_DOORBUSTER = ("reports", "scenarios", "chaos", "fixtures")
# folder -> what nothing under it may import (folders of this repository or other top-level
# modules), and why.
FORBIDDEN: dict[str, tuple[tuple[str, ...], str]] = {
    "retailflow": ((*SUITE, "bench", "tests", "locust", "gevent"), "the shop is deployed without the suite"),
    "bench": (("tests",), "benchmarks run without the test tree"),
    # Load, chaos and report meet only in the run folder, never in each other's code.
    "reports": (("scenarios", "chaos", "locustfile", "locust"), "the report reads the run folder only"),
    "scenarios": (("reports", "chaos"), "the load writes the run folder and reads nothing of chaos or report"),
    "chaos": (("reports", "scenarios", "locustfile", "locust"), "chaos writes its journal, it never starts load"),
}


def folder_of(module: str) -> str:
    """The repository folder (or other top-level module) an absolute module name comes from."""
    parts = module.split(".")
    if parts[0] == "doorbuster" and len(parts) > 1 and parts[1] in INSTALLED_UNDER_DOORBUSTER:
        return parts[1]
    return parts[0]


def imported_modules(source: str, filename: str = "<string>") -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, at any depth."""
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def violations(folder: str) -> list[str]:
    forbidden, _ = FORBIDDEN[folder]
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, module in imported_modules(path.read_text(), str(path)):
            if folder_of(module) in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_point_one_way(folder: str) -> None:
    assert violations(folder) == [], FORBIDDEN[folder][1]


def test_a_module_name_maps_to_its_folder_before_and_after_the_packaging_rename() -> None:
    assert folder_of("reports.checks") == folder_of("doorbuster.reports.checks") == "reports"  # rename: keep
    assert folder_of("doorbuster.errors") == "doorbuster"
    assert folder_of("doorbuster") == "doorbuster"
    assert folder_of("retailflow.contracts") == "retailflow"


def test_the_shop_has_no_relative_import_that_could_escape_it() -> None:
    escaping = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "retailflow").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert escaping == []


def test_the_reader_finds_top_level_lazy_and_from_imports() -> None:
    source = (
        "import doorbuster.errors\n"
        "from reports import checks\n"
        "def f():\n"
        "    from tests.support.shop import running_shop\n"
        "    import locust as l\n"
        "from . import sibling\n"
    )
    assert list(imported_modules(source)) == [
        (1, "doorbuster.errors"),
        (2, "reports"),
        (4, "tests.support.shop"),
        (5, "locust"),
    ]


def test_a_shop_module_importing_the_suite_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = tmp_path / "retailflow" / "runtime"
    shop.mkdir(parents=True)
    (shop / "cli.py").write_text("def run():\n    from doorbuster.errors import DoorbusterError\n")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.py").write_text("from tests.support.processes import run_service\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations("retailflow") == ["retailflow/runtime/cli.py:2 imports doorbuster.errors"]
    assert violations("bench") == ["bench/b.py:1 imports tests.support.processes"]
