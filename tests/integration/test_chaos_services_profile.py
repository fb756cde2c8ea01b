"""Cache loss where it applies: on the services profile the links from catalog and orders to
Redis are really cut, shoppers are served once they return, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.chaos_run import Load, Watcher, run_chaos
from tests.support.servers import fresh_postgres, require_server
from tests.support.shop import Shop, running_shop

pytestmark = [pytest.mark.services, pytest.mark.slow]

CACHE_LINKS = ("catalog->redis", "orders->redis")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    require_server("redis")
    # Its own Redis database number: cached catalog answers are the same for every test shop
    # (same seed), but carts are not shared with another shop's tests.
    with fresh_postgres() as pg:
        env = {"RF_DB_URL": pg, "RF_CACHE_URL": "redis://127.0.0.1:6379/9"}
        with running_shop(tmp_path_factory.mktemp("chaos-services"), env) as shop:
            yield shop


def test_cache_loss_cuts_the_redis_links_and_the_shop_recovers(shop: Shop, tmp_path: Path) -> None:
    assert shop.status["profile"] == "services"
    with Load(shop.url), Watcher(shop.client) as watcher:
        outcome = run_chaos("cache-loss", shop.data_dir, tmp_path, "window_s=1")
    assert outcome.returncode == 0, f"{outcome.stdout}\n{outcome.stderr[-3000:]}"
    assert outcome.verdict["verdict"] == "passed", outcome.verdict
    for link in CACHE_LINKS:
        assert "reset" in watcher.links(link), link
    assert outcome.output_of("cut-the-cache-links")["links"] == list(CACHE_LINKS)
    status = shop.client.status()
    assert status["faults"] == [] and all(link["state"] == "ok" for link in status["links"])
