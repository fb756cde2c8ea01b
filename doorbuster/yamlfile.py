"""Reading a user's YAML file: one wording for a file that cannot be read or parsed, whichever
command reads it (SLO files, load profiles), and never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["read_yaml"]


def read_yaml(path: Path, what: str, error: type[Exception]) -> Any:
    """The document in `path`; `error` naming `what` and the path when it cannot be read or is not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{what} {path}: cannot read it ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{what} {path}: not valid YAML ({exc})") from exc
