"""Configuration enters once: every service reads its environment here, typed, with defaults.

Nothing connects at import time; a nonsensical value fails loudly naming the variable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retailflow.common.errors import ConfigError

__all__ = ["SERVICES", "ServiceConfig"]

SERVICES = ("gateway", "catalog", "inventory", "orders", "payments", "notifications", "legacy")
UPSTREAMS = ("catalog", "inventory", "orders", "payments", "legacy", "notifications")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below its minimum {minimum}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise ConfigError(f"{name}={raw} must be a positive, finite number of seconds")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or None
    if raw is not None and not raw.startswith(tuple(f"{s}://" for s in schemes)):
        raise ConfigError(f"{name}={raw!r} must start with one of {', '.join(s + '://' for s in schemes)}")
    return raw


@dataclass(frozen=True)
class ServiceConfig:
    service: str
    replica: int = 0
    data_dir: Path = Path(".doorbuster")
    seed: int = 42
    products: int = 10_000
    upstreams: Mapping[str, str] = field(default_factory=dict)
    db_url: str | None = None  # postgresql://... (unset: SQLite under data_dir)
    legacy_db_url: str | None = None  # mysql://... (unset: SQLite under data_dir)
    cache_url: str | None = None  # redis://... (unset: in-process)
    bus_url: str | None = None  # amqp://... or nats://... (unset: the outbox tables in SQLite)
    max_body_bytes: int = 64 * 1024
    read_timeout_s: float = 5.0  # a request must arrive whole (headers and body) this soon after its first byte
    log_level: str = "INFO"
    bus_namespace_override: str | None = None  # RF_BUS_NAMESPACE

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> ServiceConfig:
        env = os.environ if env is None else env
        if service not in SERVICES:
            raise ConfigError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        upstreams = {
            name: env[f"RF_{name.upper()}_URL"].rstrip("/")
            for name in UPSTREAMS
            if env.get(f"RF_{name.upper()}_URL")
        }
        return cls(
            service=service,
            replica=_int(env, "RF_REPLICA", 0),
            data_dir=Path(env.get("RF_DATA_DIR") or env.get("DOORBUSTER_DATA_DIR") or ".doorbuster"),
            seed=_int(env, "RF_SEED", 42),
            products=_int(env, "RF_PRODUCTS", 10_000, minimum=1),
            upstreams=upstreams,
            db_url=_url(env, "RF_DB_URL", ("postgresql", "postgres")),
            legacy_db_url=_url(env, "RF_LEGACY_DB_URL", ("mysql", "mariadb")),
            cache_url=_url(env, "RF_CACHE_URL", ("redis",)),
            bus_url=_url(env, "RF_BUS_URL", ("amqp", "nats")),
            max_body_bytes=_int(env, "RF_MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            read_timeout_s=_seconds(env, "RF_REQUEST_READ_TIMEOUT_S", 5.0),
            log_level=env.get("RF_LOG_LEVEL", "INFO").upper(),
            bus_namespace_override=env.get("RF_BUS_NAMESPACE") or None,
        )

    @property
    def bus_namespace(self) -> str:
        """Names this shop's exchange, queues and stream on a shared broker.

        RF_BUS_NAMESPACE, else derived from the shop's stores: every replica of one shop agrees,
        and two shops on one broker (a test beside a dev shop) never take each other's events.
        """
        if self.bus_namespace_override:
            return self.bus_namespace_override
        stores = f"{self.db_url or ''}|{self.data_dir.resolve()}"
        return "rf-" + hashlib.sha1(stores.encode()).hexdigest()[:10]

    @property
    def profile(self) -> str:
        return "services" if self.db_url else "embedded"

    def upstream(self, name: str) -> str:
        try:
            return self.upstreams[name]
        except KeyError:
            raise ConfigError(f"RF_{name.upper()}_URL is not set; {self.service} needs {name}") from None

    def store_url(self, name: str | None = None) -> str:
        """The URL of this service's own database (`legacy` uses the legacy store)."""
        name = name or self.service
        if name == "legacy":
            return self.legacy_db_url or f"sqlite:///{self.data_dir / 'legacy.db'}"
        return self.db_url or f"sqlite:///{self.data_dir / f'{name}.db'}"
