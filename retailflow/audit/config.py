"""Where the audit finds the shop's stores: the data folder for the embedded profile, the store
URLs of the environment for the services profile."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from retailflow.common.config import ServiceConfig
from retailflow.common.errors import ConfigError

__all__ = ["audit_config"]


def audit_config(data_dir: Path | None, env: dict[str, str] | None = None) -> ServiceConfig:
    """The store URLs the shop uses: the data dir for embedded stores, RF_DB_URL and
    RF_LEGACY_DB_URL from the environment for the services profile."""
    env = dict(os.environ if env is None else env)
    # The same folder `doorbuster up` chose: --data-dir, else $DOORBUSTER_DATA_DIR, else ./.doorbuster.
    env["RF_DATA_DIR"] = str(data_dir or env.get("DOORBUSTER_DATA_DIR") or ".doorbuster")
    config = ServiceConfig.from_env("gateway", env)
    if config.profile == "embedded" and _runtime_profile(config.data_dir) == "services":
        raise ConfigError(
            f"the shop in {config.data_dir} runs the services profile; set RF_DB_URL and RF_LEGACY_DB_URL "
            "as they were for `doorbuster up`"
        )
    return config


def _runtime_profile(data_dir: Path) -> str | None:
    """The profile the runtime says the shop in `data_dir` runs (runtime.json), if it says."""
    try:
        state = orjson.loads((data_dir / "runtime.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return state.get("profile") if isinstance(state, dict) else None
