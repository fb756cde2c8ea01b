"""The runtime's wiring: replica counts, links, and the environment each pod gets."""

from __future__ import annotations

from pathlib import Path

import pytest

import retailflow
from retailflow.common.config import SERVICES
from retailflow.runtime.errors import PodRuntimeError, TopologyError
from retailflow.runtime.options import parse_duration
from retailflow.runtime.pods import Backoff
from retailflow.runtime.topology import (
    DEFAULT_REPLICAS,
    STORES,
    parse_replicas,
    parse_services,
    plan_links,
    pod_env,
    rewrite_host,
)

PORTS = {name: 20000 + i for i, name in enumerate(SERVICES)}
SERVICES_PROFILE = {
    "RF_DB_URL": "postgresql://shop:secret@db.local:5433/retail?sslmode=disable",
    "RF_LEGACY_DB_URL": "mysql://root@127.0.0.1/legacy",
    "RF_CACHE_URL": "redis://127.0.0.1:6379/0",
    "RF_BUS_URL": "amqp://guest:guest@127.0.0.1:5672/",
}


def test_replicas_default_per_service_and_override_by_name() -> None:
    counts = parse_replicas(["gateway=3", "catalog=1,orders=4"])
    assert counts == {**DEFAULT_REPLICAS, "gateway": 3, "catalog": 1, "orders": 4}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("gateway", "--replicas 'gateway' must look like SERVICE=N"),
        ("shop=2", "unknown service 'shop'"),
        ("gateway=two", "'two' is not a whole number"),
        ("gateway=0", "between 1 and 8"),
        ("gateway=9", "between 1 and 8"),
    ],
)
def test_bad_replica_counts_are_refused_naming_the_value(item: str, message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_replicas([item])


def test_replicas_of_a_service_that_does_not_run_are_refused() -> None:
    with pytest.raises(TopologyError, match="'gateway', which is not among the services to run"):
        parse_replicas(["gateway=2"], services=("legacy",))


def test_services_keep_their_canonical_order_and_unknown_ones_are_named() -> None:
    assert parse_services("legacy, catalog") == ("catalog", "legacy")
    assert parse_services(None) == SERVICES
    with pytest.raises(TopologyError, match="unknown service 'billing'"):
        parse_services("catalog,billing")


def test_embedded_profile_has_only_the_inventory_to_legacy_link() -> None:
    links = plan_links(SERVICES, PORTS, {})
    assert [(link.name, link.target) for link in links] == [("inventory->legacy", f"127.0.0.1:{PORTS['legacy']}")]


def test_no_inventory_to_legacy_link_without_both_ends() -> None:
    assert plan_links(("catalog", "legacy"), PORTS, {}) == []


def test_services_profile_links_each_service_to_each_networked_store_it_uses() -> None:
    names = {link.name for link in plan_links(SERVICES, PORTS, SERVICES_PROFILE)}
    assert {"inventory->legacy", "legacy->mariadb", "orders->postgres", "catalog->redis", "orders->bus"} <= names
    assert "gateway->postgres" not in names and "gateway->redis" not in names  # the gateway keeps no store
    assert "legacy->postgres" not in names  # legacy stands for the monolith's MariaDB only
    postgres = next(link for link in plan_links(SERVICES, PORTS, SERVICES_PROFILE) if link.name == "orders->postgres")
    assert postgres.target == "db.local:5433"
    mariadb = next(link for link in plan_links(SERVICES, PORTS, SERVICES_PROFILE) if link.dst == "mariadb")
    assert mariadb.target == "127.0.0.1:3306"  # the scheme's default port


def test_a_store_url_with_several_hosts_is_refused() -> None:
    with pytest.raises(TopologyError, match="RF_BUS_URL='nats://a:4222,b:4222' names several hosts"):
        plan_links(SERVICES, PORTS, {"RF_BUS_URL": "nats://a:4222,b:4222"})


def test_rewriting_a_url_keeps_credentials_path_and_query() -> None:
    url = rewrite_host(SERVICES_PROFILE["RF_DB_URL"], "127.0.0.1", 41000)
    assert url == "postgresql://shop:secret@127.0.0.1:41000/retail?sslmode=disable"


def test_each_pod_reaches_its_stores_and_legacy_only_through_its_links() -> None:
    links = plan_links(SERVICES, PORTS, SERVICES_PROFILE)
    link_ports = {link.name: 30000 + i for i, link in enumerate(links)}
    base = {**SERVICES_PROFILE, "PATH": "/bin", "RF_LEGACY_URL": "http://elsewhere:1"}

    def env(service: str) -> dict[str, str]:
        return pod_env(service, 1, base=base, data_dir="/data", service_ports=PORTS, links=links, link_ports=link_ports)

    inventory = env("inventory")
    assert inventory["RF_LEGACY_URL"] == f"http://127.0.0.1:{link_ports['inventory->legacy']}"
    assert (
        inventory["RF_DB_URL"] == f"postgresql://shop:secret@127.0.0.1:{link_ports['inventory->postgres']}"
        "/retail?sslmode=disable"
    )
    assert inventory["RF_CATALOG_URL"] == f"http://127.0.0.1:{PORTS['catalog']}"
    assert (inventory["RF_REPLICA"], inventory["RF_DATA_DIR"], inventory["PATH"]) == ("1", "/data", "/bin")
    gateway = env("gateway")
    assert "RF_LEGACY_URL" not in gateway  # only inventory talks to the legacy service
    assert gateway["RF_CACHE_URL"] == SERVICES_PROFILE["RF_CACHE_URL"]  # no link: the store's own URL
    assert gateway["RF_ORDERS_URL"] == f"http://127.0.0.1:{PORTS['orders']}"
    legacy = env("legacy")
    assert legacy["RF_LEGACY_DB_URL"] == f"mysql://root@127.0.0.1:{link_ports['legacy->mariadb']}/legacy"


def test_upstreams_that_do_not_run_are_not_handed_out() -> None:
    ports = {"legacy": PORTS["legacy"], "catalog": PORTS["catalog"]}
    env = pod_env(
        "catalog",
        0,
        base={"RF_ORDERS_URL": "http://stale:1"},
        data_dir="/d",
        service_ports=ports,
        links=[],
        link_ports={},
    )
    assert "RF_ORDERS_URL" not in env
    assert env["RF_CATALOG_URL"] == f"http://127.0.0.1:{ports['catalog']}"


def test_restart_backoff_doubles_up_to_a_cap_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(base_s=0.5, cap_s=4.0, stable_s=30.0)
    assert [backoff.next_delay(ran_s=1.0) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.next_delay(ran_s=60.0) == 0.5


@pytest.mark.parametrize(("raw", "seconds"), [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("4h", 14400.0)])
def test_durations_read_with_units(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize(("raw", "message"), [("soon", "'soon' is not a number"), ("-5m", "must be positive")])
def test_bad_durations_are_refused_naming_the_value(raw: str, message: str) -> None:
    with pytest.raises(PodRuntimeError, match=message):
        parse_duration(raw)


@pytest.mark.parametrize("service", SERVICES)
def test_every_store_a_service_bootstrap_reads_goes_through_a_link(service: str) -> None:
    # Drift guard: STORES must list what the bootstraps use, or a cut would miss a real path.
    source = (Path(retailflow.__file__).parent / service / "bootstrap.py").read_text()
    reads = {
        "postgres": f'store_url("{service}")' in source and service != "legacy",
        "mariadb": 'store_url("legacy")' in source,
        "redis": "cache_url" in source,
        "bus": "bus_url" in source,
    }
    linked = {store.name: service in store.users for store in STORES}
    assert reads == linked, f"{service}: its bootstrap reads {reads}, the runtime links {linked}"
