"""The control API knows the supervisor only through its protocol: no import cycle, not even for types."""

from __future__ import annotations

import ast
from pathlib import Path

import retailflow.runtime as runtime

RUNTIME = Path(runtime.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_control_api_does_not_import_the_supervisor() -> None:
    assert "retailflow.runtime.supervisor" not in _imports(RUNTIME / "control.py")


def test_the_supervisor_satisfies_the_control_protocol() -> None:
    from retailflow.runtime.control import Controlled
    from retailflow.runtime.supervisor import Supervisor

    wanted = {name for name in vars(Controlled) if not name.startswith("_")}
    missing = sorted(name for name in wanted if not callable(getattr(Supervisor, name, None)))
    assert missing == []
