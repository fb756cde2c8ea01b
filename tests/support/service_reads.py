"""What each RetailFlow service reads when it is built: its environment and its upstreams.

Found by building the real app (`create_app`, nothing connects before the lifespan starts) with
an environment and an upstream map that record every key asked for, so a new variable or a new
upstream shows up here without anyone updating a list.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from retailflow.common.config import SERVICES, ServiceConfig

__all__ = ["ServiceReads", "reads_of"]


class RecordingMap(Mapping[str, str]):
    """A read-only mapping that notes every key looked up, present or not."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = dict(data)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self._data

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return self._data.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class ServiceReads:
    service: str
    env: frozenset[str]  # RF_* variables read while the service is configured and built
    upstreams: frozenset[str]  # services whose URL it asked for


def reads_of(service: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceReads:
    env = RecordingMap({"RF_DATA_DIR": str(data_dir)})
    # Settings classes read `os.environ` when called without an env: they see the recorder too.
    monkeypatch.setattr(os, "environ", env)
    config = ServiceConfig.from_env(service)
    upstreams = RecordingMap({name: f"http://{name}.invalid:8080" for name in SERVICES})
    config = dataclasses.replace(config, upstreams=upstreams)
    importlib.import_module(f"retailflow.{service}.bootstrap").create_app(config)
    monkeypatch.undo()
    return ServiceReads(
        service,
        frozenset(k for k in env.asked if k.startswith("RF_")),
        frozenset(upstreams.asked),
    )
