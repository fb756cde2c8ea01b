"""`kubectl kustomize` builds every kustomization of deploy/, and `doorbuster deploy render` prints it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from doorbuster.cli import main
from tests.support.manifests import DEPLOY, OVERLAYS, objects, require_kubectl

REPO = Path(__file__).resolve().parents[2]


def test_kubectl_is_recent_enough_for_the_kustomize_features_used() -> None:
    # replicas + replacements + label-targeted patches need kustomize 5; kubectl 1.27+ embeds it.
    out = subprocess.run([require_kubectl(), "version", "--client"], capture_output=True, text=True, check=True).stdout
    client = re.search(r"Client Version: v(\d+)\.(\d+)", out)
    kustomize = re.search(r"Kustomize Version: v(\d+)\.(\d+)", out)
    assert client and kustomize, out
    assert (int(client[1]), int(client[2])) >= (1, 27), out
    assert int(kustomize[1]) >= 5, out


def test_every_overlay_is_found() -> None:
    assert set(OVERLAYS) == {"base", "in-cluster", "managed-stores", "load", "chaos"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubectl_kustomize_builds_every_overlay(overlay: str) -> None:
    objs = objects(overlay)
    assert objs, f"{overlay} rendered nothing"
    assert all(obj.get("kind") and obj.get("apiVersion") for obj in objs)
    names = [(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]) for obj in objs]
    assert len(names) == len(set(names)), f"{overlay} renders an object twice"


@pytest.mark.parametrize("overlay", ["in-cluster", "managed-stores"])
def test_shop_overlays_put_everything_in_the_retailflow_namespace(overlay: str) -> None:
    for obj in objects(overlay):
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "retailflow", obj["metadata"]["name"]


def test_render_prints_the_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    require_kubectl()
    assert main(["deploy", "render", "--overlay", "managed-stores"]) == 0
    rendered = [doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]
    assert rendered == objects("managed-stores")


def test_render_defaults_to_the_self_contained_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    require_kubectl()
    assert main(["deploy", "render"]) == 0
    kinds = {doc["kind"] for doc in yaml.safe_load_all(capsys.readouterr().out) if doc}
    assert "StatefulSet" in kinds  # the in-cluster stores


def test_an_unknown_overlay_is_refused_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "render", "--overlay", "prod"]) == 2
    err = capsys.readouterr().err
    assert "--overlay 'prod' is not in" in err
    assert "choose from base, in-cluster, managed-stores, load, chaos" in err


def test_a_folder_without_manifests_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "render", "--deploy-dir", str(tmp_path)]) == 2
    assert f"no Kubernetes manifests at {tmp_path}" in capsys.readouterr().err


def test_without_kubectl_the_message_names_it(tmp_path: Path) -> None:
    # A PATH with python but without kubectl, through the real entry point.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [str(bin_dir / "python3"), "-m", "doorbuster.cli", "deploy", "render"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "kubectl was not found on PATH" in done.stderr
    assert "kubectl kustomize" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_kustomization_reports_kubectls_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_kubectl()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    assert main(["deploy", "render", "--deploy-dir", str(tmp_path), "--overlay", "base"]) == 2
    err = capsys.readouterr().err
    assert f"`kubectl kustomize {tmp_path / 'base'}` failed" in err
    assert "missing.yaml" in err


def test_the_deploy_folder_is_the_checkouts() -> None:
    assert DEPLOY == REPO / "deploy"
