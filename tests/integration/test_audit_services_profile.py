"""The audit on the services profile: the same stores on PostgreSQL (a schema per service) and
MariaDB (legacy), read through the same views, catch the same damage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retailflow.audit import run_audit
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from tests.support.audit_stores import (
    Stores,
    assert_audit_breaks_only,
    broken,
    built_stores,
    each_damage,
    sale_completes_after_the_orders_are_read,
    stock_reserved_after_each_stock_read,
)
from tests.support.servers import fresh_mariadb, fresh_postgres

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with fresh_postgres() as pg, fresh_mariadb() as mariadb:
        yield pg, mariadb


@pytest.fixture
def stores(servers: tuple[str, str], tmp_path: Path) -> Iterator[Stores]:
    pg, mariadb = servers
    config = ServiceConfig("gateway", data_dir=tmp_path, db_url=pg, legacy_db_url=mariadb)
    try:
        with built_stores(config) as stores:
            yield stores
    finally:
        # Empty stores for the next test; creating databases costs seconds, dropping schemas does not.
        for url, statement in (
            (pg, "DROP SCHEMA IF EXISTS inventory, orders, payments CASCADE"),
            (mariadb, "DROP TABLE IF EXISTS legacy_stock"),
        ):
            db = Database(url).connect()
            try:
                db.execute(statement)
            finally:
                db.close()
    assert not list(tmp_path.glob("*.db")), "the services profile must not touch SQLite files"


def test_stores_on_postgresql_and_mariadb_pass_every_invariant(stores: Stores) -> None:
    audit = run_audit(stores.config, stores.ledger)
    assert broken(audit) == {}
    assert audit["ok"] is True


@each_damage
def test_each_kind_of_damage_breaks_exactly_its_invariant_on_the_services_profile(
    stores: Stores, damage: Callable[[Stores], None], invariant: str, detail: dict[str, Any]
) -> None:
    assert_audit_breaks_only(stores, damage, invariant, detail)


def test_a_busy_shop_on_postgresql_does_not_look_broken_to_the_audit(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sale completes after the orders were read; a checkout reserves between inventory's reads.
    sale_completes_after_the_orders_are_read(stores, monkeypatch)
    stock_reserved_after_each_stock_read(stores, monkeypatch)
    assert "stock_conservation" not in broken(run_audit(stores.config, stores.ledger))


def test_a_failed_order_keeping_its_stock_is_caught_on_postgresql_while_sales_complete(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores.failed_keeping_stock("o-7", [("DB-1", 1)])
    sale_completes_after_the_orders_are_read(stores, monkeypatch)
    details = broken(run_audit(stores.config, stores.ledger))["stock_conservation"]
    assert details[0] == {
        "sku": "DB-1",
        "problem": "sold 4 before the orders were read and 5 after, but 3 units bought by orders",
    }
