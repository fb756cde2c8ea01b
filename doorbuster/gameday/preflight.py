"""Everything a game day checks before the shop starts, so bad input costs a sentence, not a run.

Unknown profile, shape or experiment, a port in use, a missing dependency, a schedule past the
end of the load: exit 2. A shop named with --host/--data-dir that does not answer: exit 4.
A target the safety rules refuse: exit 5.
"""

from __future__ import annotations

import importlib.util
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from doorbuster.errors import EXIT_UNREACHABLE
from doorbuster.gameday.errors import GamedayError
from doorbuster.gameday.profile import GamedayProfile, IntegrityStop
from doorbuster.gameday.schedule import LoadTimeline
from retailflow.contracts import STORE_DEFAULT_PORTS

__all__ = [
    "EXPERIMENTS_DIR",
    "Target",
    "check_dependencies",
    "check_experiments",
    "check_port_free",
    "check_target",
    "experiment_path",
]

EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "chaos" / "experiments"
_SUFFIXES = (".json", ".yaml", ".yml")
# Store URLs of the services profile: each must answer before the shop is started on it.
_STORE_VARS = ("RF_DB_URL", "RF_LEGACY_DB_URL", "RF_CACHE_URL", "RF_BUS_URL")


def experiment_path(name: str) -> Path | None:
    """An experiment as `doorbuster chaos run` finds it: a file path, or a stem in chaos/experiments/."""
    path = Path(name)
    if path.suffix in _SUFFIXES:
        return path if path.is_file() else None
    for suffix in _SUFFIXES:
        candidate = EXPERIMENTS_DIR / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def known_experiments() -> list[str]:
    if not EXPERIMENTS_DIR.is_dir():
        return []
    return sorted({p.stem for p in EXPERIMENTS_DIR.glob("*") if p.suffix in _SUFFIXES})


def check_experiments(profile: GamedayProfile) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(profile.chaos):
        key = f"{profile.source}: chaos[{index}].experiment"
        path = experiment_path(entry.experiment)
        if path is None:
            known = ", ".join(known_experiments()) or "none: the chaos extension has no experiments in this install"
            raise GamedayError(f"{key}: unknown experiment {entry.experiment!r} (known: {known})")
        stem = path.stem
        if stem in seen:
            # Its journal is RUN/chaos/<stem>.journal.json: a second run would overwrite the first.
            raise GamedayError(
                f"{key}: {stem} is already scheduled at chaos[{seen[stem]}]; "
                "an experiment runs at most once per game day"
            )
        seen[stem] = index


def check_dependencies(profile: GamedayProfile, environ: dict[str, str]) -> None:
    """Python packages the stages import, and the servers of the services profile if it is chosen."""
    needed = {"locust": "the load (Locust)", "pandas": "the report (pandas)", "matplotlib": "the report's charts"}
    if profile.chaos:
        needed["chaoslib"] = "the chaos schedule (Chaos Toolkit)"
    for module, what in needed.items():
        if importlib.util.find_spec(module) is None:
            raise GamedayError(
                f"missing dependency: {module} (for {what}); install the suite with python3 -m pip install -e ."
            )
    if profile.chaos and not _has_command("chaos"):
        raise GamedayError(
            "missing dependency: `doorbuster chaos` (the chaos extension) is not in this install, "
            "but the game day schedules experiments"
        )
    for var in _STORE_VARS:
        url = environ.get(var)
        if url:
            _check_server(var, url)


def _has_command(name: str) -> bool:
    from doorbuster.cli import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else []:  # argparse keeps them here
        if name in getattr(action, "choices", {}):
            return True
    return False


def _check_server(var: str, url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or STORE_DEFAULT_PORTS.get(parts.scheme.split("+")[0], 0)
    except ValueError:
        raise GamedayError(f"{var}={url!r}: not a URL with a valid port") from None
    if not port:
        raise GamedayError(f"{var}={url!r}: cannot tell its port; write it as scheme://host:port/...")
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        raise GamedayError(
            f"missing dependency: {var} names {host}:{port}, which does not answer ({exc.strerror or exc}); "
            "start it (scripts/ensure-services.sh) or unset the variable for the embedded profile"
        ) from None


def check_port_free(port: int) -> None:
    if not port:
        return
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise GamedayError(
                f"--port {port}: 127.0.0.1:{port} is in use ({exc.strerror}); pick another port or 0 for any"
            ) from None


@dataclass(frozen=True)
class Target:
    url: str  # the storefront the load goes to
    data_dir: Path | None  # the shop's folder (control API, audit), None for a bare --host
    own_shop: bool  # started and taken down by this game day


def _status(data_dir: Path) -> dict[str, object]:
    from retailflow.runtime.client import RuntimeClient
    from retailflow.runtime.errors import PodRuntimeError

    try:
        return RuntimeClient(str(data_dir), timeout_s=5).status()
    except PodRuntimeError as exc:
        raise GamedayError(f"--data-dir {data_dir}: {exc}", exit_code=EXIT_UNREACHABLE) from None


def check_target(
    host: str | None,
    data_dir: Path | None,
    allow_host: list[str],
    profile: GamedayProfile,
    timeline: LoadTimeline,
    platform: str | None = None,
) -> Target | None:
    """None: the game day starts its own shop. Otherwise the running shop it was pointed at,
    checked: allowed by the safety rules, answering, and with the control API the schedule needs
    (the local platform's; a --platform reaches the shop by itself)."""
    from doorbuster.gameday.loadengine import check_target as safe_target

    if host is None and data_dir is None:
        return None
    if data_dir is None:
        needs = []
        if timeline.experiments and not platform:
            needs.append(f"its {len(timeline.experiments)} experiment(s)")
        if any(isinstance(c, IntegrityStop) for c in profile.stop_conditions):
            needs.append("the integrity stop condition")
        if needs:
            raise GamedayError(
                f"{profile.source}: {' and '.join(needs)} cannot run without the shop's control API; "
                "pass --data-dir DIR (the folder the RetailFlow shop was started with), or run a game day without them"
            )
    url = host
    if data_dir is not None:
        status = _status(data_dir)
        url = url or str(status.get("storefront_url", "")).rstrip("/")
    assert url is not None
    safe_target(url, allow_host)  # UnsafeTargetError: exit 5
    try:
        requests.get(url.rstrip("/") + "/", timeout=10)
    except requests.RequestException as exc:
        raise GamedayError(
            f"--host {url}: the shop does not answer ({type(exc).__name__})", exit_code=EXIT_UNREACHABLE
        ) from None
    return Target(url=url.rstrip("/"), data_dir=data_dir, own_shop=False)
