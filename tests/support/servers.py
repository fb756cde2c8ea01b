"""The services profile's real servers: a fresh database per test session, or a clear skip.

On a machine without the servers the tests skip with the reason; in CI (CI=true) a missing
server is a failure, because there they must run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["fresh_mariadb", "fresh_postgres", "require_server"]

PORTS = {"postgresql": 5432, "mariadb": 3306, "redis": 6379, "rabbitmq": 5672, "nats": 4222}


def require_server(name: str) -> None:
    try:
        with socket.create_connection(("127.0.0.1", PORTS[name]), timeout=1):
            return
    except OSError as exc:
        message = f"{name} is not reachable on 127.0.0.1:{PORTS[name]} ({exc}); run scripts/ensure-services.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its URL."""
    require_server("postgresql")
    import psycopg

    name = f"rf_test_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_mariadb() -> Iterator[str]:
    """A new, empty MariaDB database; dropped afterwards. Yields its URL."""
    require_server("mariadb")
    import pymysql

    name = f"rf_test_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        try:
            yield f"mysql://root@127.0.0.1:3306/{name}"
        finally:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
