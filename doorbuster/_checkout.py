"""In a source checkout, doorbuster.reports, .scenarios, .chaos and .fixtures live in the
repository's top-level folders of those names (pyproject.toml maps them the same way for an
install). Running from the checkout without installing (PYTHONPATH=<checkout>) finds them
there, and never in another installed copy."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

FOLDERS = ("reports", "scenarios", "chaos", "fixtures")


class CheckoutFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        parent, _, name = fullname.rpartition(".")
        if parent != "doorbuster" or name not in FOLDERS:
            return None  # submodules are found through the package's __path__
        folder = self.root / name
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def install(package_dir: Path) -> None:
    """Put the finder first when `package_dir` (doorbuster/) sits in a source checkout."""
    root = package_dir.resolve().parent
    if not (root / "pyproject.toml").is_file() or not all((root / f / "__init__.py").is_file() for f in FOLDERS):
        return  # an installed copy: setuptools placed the folders under doorbuster/
    if not any(isinstance(f, CheckoutFinder) and f.root == root for f in sys.meta_path):
        sys.meta_path.insert(0, CheckoutFinder(root))
