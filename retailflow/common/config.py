"""Configuration enters once: every service reads its environment here, typed, with defaults.

Nothing connects at import time; a nonsensical value fails loudly naming the variable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, SkipValidation

from retailflow.common.errors import ConfigError
from retailflow.common.settings import Env, from_env, settings_dataclass

__all__ = ["SERVICES", "ServiceConfig"]

SERVICES = ("gateway", "catalog", "inventory", "orders", "payments", "notifications", "legacy")
UPSTREAMS = ("catalog", "inventory", "orders", "payments", "legacy", "notifications")


def _scheme(*schemes: str) -> AfterValidator:
    prefixes = tuple(f"{s}://" for s in schemes)

    def check(url: str | None) -> str | None:
        if url is not None and not url.startswith(prefixes):
            raise ValueError(f"must start with one of {', '.join(prefixes)}")
        return url

    return AfterValidator(check)


@settings_dataclass
class ServiceConfig:
    service: str
    replica: Annotated[int, Env("RF_REPLICA"), Field(ge=0)] = 0
    data_dir: Annotated[Path, Env("RF_DATA_DIR")] = Path(".doorbuster")  # or DOORBUSTER_DATA_DIR
    seed: Annotated[int, Env("RF_SEED")] = 42
    products: Annotated[int, Env("RF_PRODUCTS"), Field(ge=1)] = 10_000
    # from RF_<NAME>_URL; kept as given (built in code from validated strings, or a test's own mapping)
    upstreams: Annotated[Mapping[str, str], SkipValidation] = Field(default_factory=dict)
    # postgresql://... (unset: SQLite under data_dir)
    db_url: Annotated[str | None, Env("RF_DB_URL"), _scheme("postgresql", "postgres")] = None
    # mysql://... (unset: SQLite under data_dir)
    legacy_db_url: Annotated[str | None, Env("RF_LEGACY_DB_URL"), _scheme("mysql", "mariadb")] = None
    cache_url: Annotated[str | None, Env("RF_CACHE_URL"), _scheme("redis")] = None  # unset: in-process
    # amqp://... or nats://... (unset: the outbox tables in SQLite)
    bus_url: Annotated[str | None, Env("RF_BUS_URL"), _scheme("amqp", "nats")] = None
    max_body_bytes: Annotated[int, Env("RF_MAX_BODY_BYTES"), Field(ge=1024)] = 64 * 1024
    # a request must arrive whole (headers and body) this soon after its first byte
    read_timeout_s: Annotated[float, Env("RF_REQUEST_READ_TIMEOUT_S"), Field(gt=0)] = 5.0
    log_level: Annotated[str, Env("RF_LOG_LEVEL"), AfterValidator(str.upper)] = "INFO"
    bus_namespace_override: Annotated[str | None, Env("RF_BUS_NAMESPACE")] = None

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> ServiceConfig:
        env = os.environ if env is None else env
        if service not in SERVICES:
            raise ConfigError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        upstreams = {
            name: env[f"RF_{name.upper()}_URL"].rstrip("/") for name in UPSTREAMS if env.get(f"RF_{name.upper()}_URL")
        }
        fallback = {"data_dir": env["DOORBUSTER_DATA_DIR"]} if env.get("DOORBUSTER_DATA_DIR") else {}
        return from_env(cls, env, service=service, upstreams=upstreams, **fallback)

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
