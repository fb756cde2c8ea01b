"""The doorbuster race on the services profile: the new services' stores on PostgreSQL and the
legacy store on MariaDB, each reached through its link, and still exactly the stock is sold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import fresh_mariadb, fresh_postgres
from tests.support.shop import Shop, running_shop
from tests.support.shopper import DOORBUSTER_UNITS, available, race_for_a_doorbuster

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHOPPERS = 100


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    # Cache and bus stay in-process: a shared Redis or broker would mix this shop's events with
    # those of other shops tested at the same time on this machine.
    with fresh_postgres() as pg, fresh_mariadb() as mariadb:
        data_dir: Path = tmp_path_factory.mktemp("shop")
        with running_shop(data_dir, {"RF_DB_URL": pg, "RF_LEGACY_DB_URL": mariadb}) as shop:
            yield shop


def test_concurrent_checkouts_never_oversell_a_doorbuster_sku_on_postgresql(shop: Shop) -> None:
    assert shop.status["profile"] == "services"
    assert {link["name"] for link in shop.status["links"]} >= {"inventory->postgres", "legacy->mariadb"}
    race = race_for_a_doorbuster(shop, SHOPPERS)
    statuses = sorted({status for _, status, _ in race.answers})
    assert statuses == [201, 409], [body for _, s, body in race.answers if s not in (201, 409)][:3]
    assert len(race.confirmed) == DOORBUSTER_UNITS
    assert all(body["error"] == "sold_out" for body in race.sold_out)
    assert available(shop, race.sku) == 0
    stores = {"catalog.db", "inventory.db", "orders.db", "payments.db", "legacy.db"}
    assert not stores & {p.name for p in shop.data_dir.glob("*.db")}, "the services profile wrote SQLite stores"

    audit = shop.client.audit(race.ledger)  # reads PostgreSQL and MariaDB directly
    assert audit["ok"] is True, {inv["name"]: inv["details"][:3] for inv in audit["invariants"] if not inv["ok"]}
