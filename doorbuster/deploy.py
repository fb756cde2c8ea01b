"""`doorbuster deploy render`: the Kubernetes manifests of deploy/, built by `kubectl kustomize`.

The suite never home-grows what kustomize does: this only finds the folder, runs kubectl and
turns its absence or its failure into a sentence naming what to do.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_OK, DoorbusterError

__all__ = ["DEFAULT_OVERLAY", "build", "deploy_root", "overlays", "register"]

DEFAULT_OVERLAY = "in-cluster"
# The checkout's deploy/ (the manifests are not part of the installed package).
REPO_DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KUBECTL_TIMEOUT_S = 120


def deploy_root(explicit: str | None = None) -> Path:
    """The deploy/ folder: `--deploy-dir`, else the checkout's, else ./deploy."""
    for candidate in [Path(explicit)] if explicit else [REPO_DEPLOY, Path.cwd() / "deploy"]:
        if (candidate / "base" / "kustomization.yaml").is_file():
            return candidate
    where = explicit or f"{REPO_DEPLOY} or {Path.cwd() / 'deploy'}"
    raise DoorbusterError(
        f"no Kubernetes manifests at {where} (expected base/kustomization.yaml there); "
        "run from a Doorbuster checkout or pass --deploy-dir"
    )


def overlays(root: Path) -> dict[str, Path]:
    """Every buildable kustomization by name: the overlays, plus `base`, `load` and `chaos`."""
    found = {"base": root / "base"}
    for path in sorted((root / "overlays").glob("*/kustomization.yaml")):
        found[path.parent.name] = path.parent
    for extra in ("load", "chaos"):
        if (root / extra / "kustomization.yaml").is_file():
            found[extra] = root / extra
    return found


def build(path: Path, kubectl: str | None = None) -> str:
    """The rendered YAML of one kustomization; DoorbusterError naming kubectl when it cannot run."""
    kubectl = kubectl or shutil.which("kubectl")
    if not kubectl:
        raise DoorbusterError(
            "kubectl was not found on PATH: `doorbuster deploy render` builds the manifests with "
            "`kubectl kustomize` (kubectl 1.27 or newer); install kubectl, or run `kustomize build "
            f"{path}` yourself"
        )
    try:
        done = subprocess.run(
            [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S, check=False
        )
    except OSError as exc:
        raise DoorbusterError(f"could not run kubectl ({kubectl}): {exc}") from None
    except subprocess.TimeoutExpired:
        raise DoorbusterError(f"`kubectl kustomize {path}` did not finish within {KUBECTL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DoorbusterError(f"`kubectl kustomize {path}` failed: {detail[-1] if detail else done.returncode}")
    return done.stdout


def _render(args: argparse.Namespace) -> int:
    root = deploy_root(args.deploy_dir)
    known = overlays(root)
    if args.overlay not in known:
        raise DoorbusterError(
            f"--overlay {args.overlay!r} is not in {root}; choose from {', '.join(known)}", exit_code=EXIT_BAD_INPUT
        )
    sys.stdout.write(build(known[args.overlay]))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    deploy = subparsers.add_parser(
        "deploy",
        help="Kubernetes manifests for the shop and for distributed load (deploy/)",
        description="The shop on Kubernetes: kustomize base, overlays and Locust master/workers in deploy/.",
    )
    commands = deploy.add_subparsers(dest="deploy_command", metavar="SUBCOMMAND")
    render = commands.add_parser(
        "render",
        help="print the manifests of an overlay (through `kubectl kustomize`)",
        description=(
            "Print the manifests of one kustomization of deploy/: the overlays in-cluster (stores as "
            "StatefulSets) and managed-stores (stores from your Secret), base, load (Locust "
            "master/workers) or chaos (what the chaos platform may do). Needs kubectl. Pipe into "
            "`kubectl apply -f -`, or diff it."
        ),
    )
    render.add_argument(
        "--overlay", default=DEFAULT_OVERLAY, metavar="NAME", help=f"what to render (default: {DEFAULT_OVERLAY})"
    )
    render.add_argument("--deploy-dir", default=None, help="the deploy/ folder (default: the checkout's)")
    render.set_defaults(func=_render)
    deploy.set_defaults(func=lambda _args: deploy.print_help() or EXIT_BAD_INPUT)
