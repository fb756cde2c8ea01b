"""The supervisor's options, shared by `doorbuster up` and `python -m retailflow.runtime.supervisor`.

Kept free of the runtime's heavy imports: the doorbuster CLI imports it to build its parser.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retailflow.common.config import SERVICES
from retailflow.runtime.errors import PodRuntimeError
from retailflow.runtime.topology import DEFAULT_REPLICAS, parse_replicas, parse_services

__all__ = ["Options", "add_arguments", "add_data_dir_argument", "build_options", "parse_duration"]


@dataclass
class Options:
    data_dir: Path
    port: int = 8080
    services: tuple[str, ...] = SERVICES
    replicas: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_REPLICAS))
    ttl_s: float = 4 * 3600.0
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    backoff_base_s: float = 0.5


def parse_duration(raw: str) -> float:
    """`90`, `90s`, `30m`, `4h` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = raw.strip().lower()
    factor = units.get(text[-1:])
    number = text[:-1] if factor else text
    try:
        value = float(number) * (factor or 1)
    except ValueError:
        raise PodRuntimeError(f"duration {raw!r} is not a number of seconds or like 30m, 4h") from None
    if value <= 0:
        raise PodRuntimeError(f"duration {raw!r} must be positive")
    return value


def build_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Options:
    services = parse_services(args.services)
    env = dict(os.environ if env is None else env)
    # Catalog size and seed reach the init jobs and the pods through their environment.
    for flag, var in (("products", "RF_PRODUCTS"), ("seed", "RF_SEED")):
        value = getattr(args, flag, None)
        if value is not None:
            if value < (1 if flag == "products" else 0):
                raise PodRuntimeError(f"--{flag} {value} must be {'at least 1' if flag == 'products' else '>= 0'}")
            env[var] = str(value)
    return Options(
        data_dir=Path(args.data_dir),
        port=args.port,
        services=services,
        replicas=parse_replicas(args.replicas or [], services),
        ttl_s=parse_duration(args.ttl),
        env=env,
    )


def add_data_dir_argument(parser: argparse.ArgumentParser, *, required: bool) -> None:
    help_text = "the shop's folder: stores, logs, runtime.json"
    if not required:
        help_text += " (default: $DOORBUSTER_DATA_DIR or ./.doorbuster)"
    parser.add_argument("--data-dir", required=required, default=None, help=help_text)


def add_arguments(parser: argparse.ArgumentParser, *, data_dir_required: bool = True) -> None:
    add_data_dir_argument(parser, required=data_dir_required)
    parser.add_argument("--port", type=int, default=8080, help="the gateway's port (default 8080; 0 = any free one)")
    parser.add_argument("--services", default=None, help="comma-separated services to run (default: all)")
    parser.add_argument(
        "--replicas",
        action="append",
        metavar="SERVICE=N",
        help="replicas of a service, repeatable (default "
        + ",".join(f"{k}={v}" for k, v in DEFAULT_REPLICAS.items())
        + ")",
    )
    parser.add_argument("--ttl", default="4h", help="stop by itself after this long (default 4h; e.g. 90s, 30m)")
    parser.add_argument(
        "--products", type=int, default=None, help="catalog size the init jobs seed (default: $RF_PRODUCTS or 10000)"
    )
    parser.add_argument("--seed", type=int, default=None, help="fixture seed (default: $RF_SEED or 42)")
