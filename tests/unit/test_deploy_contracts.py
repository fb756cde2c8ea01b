"""deploy/ against the code it runs: probe routes, the RF_* settings and the service calls."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from retailflow.common.config import SERVICES, ServiceConfig
from retailflow.runtime.topology import CALLS
from tests.support.manifests import DEPLOY, SHOP_OVERLAYS, containers, objects, pod_templates, read_yaml
from tests.support.service_reads import reads_of

# RF_* variables the services read that the manifests leave at the service's default, on purpose.
# A variable a service starts reading fails the test below until it is set in deploy/ or named here.
LEFT_AT_DEFAULT = {
    # Deployments have no ordinal to give; 0 everywhere only means inventory's legacy relay shares
    # fresh rows by parity less evenly (an idle replica still takes any row older than 1 s).
    "RF_REPLICA",
    "RF_MAX_BODY_BYTES",
    "RF_REQUEST_READ_TIMEOUT_S",  # 5 s for a request to arrive whole suits a cluster as it does loopback
    # gateway tuning
    "RF_RATE_LIMIT_BURST",
    "RF_BREAKER_FAILURES",
    "RF_BREAKER_COOLDOWN_S",
    "RF_UPSTREAM_RETRIES",
    "RF_CATALOG_TIMEOUT_S",
    "RF_INVENTORY_TIMEOUT_S",
    "RF_ORDERS_TIMEOUT_S",
    "RF_GATEWAY_CACHE_TTL_S",
    "RF_GATEWAY_STOCK_TTL_S",
    # inventory tuning
    "RF_INVENTORY_TTL_S",
    "RF_INVENTORY_EXPIRY_INTERVAL_S",
    "RF_INVENTORY_RECONCILE_INTERVAL_S",
    "RF_INVENTORY_RELAY_POLL_S",
    "RF_INVENTORY_LEGACY_TIMEOUT_S",
    # orders tuning
    "RF_RESERVATION_TTL_S",
    "RF_ORDERS_STALE_AFTER_S",
    "RF_ORDERS_RECOVERY_INTERVAL_S",
    "RF_UPSTREAM_TIMEOUT_S",
    "RF_ORDERS_DUPLICATE_WAIT_S",
}
STORE_URLS = {"RF_DB_URL", "RF_LEGACY_DB_URL", "RF_CACHE_URL", "RF_BUS_URL"}


def service_container(objs: list[dict[str, Any]], service: str) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == service)
    template = deployment["spec"]["template"]
    return template, next(c for c in template["spec"]["containers"] if c["name"] == service)


def env_of(objs: list[dict[str, Any]], container: dict[str, Any], user_secret: set[str]) -> set[str]:
    """The variable names a container gets: env, and envFrom of ConfigMaps and Secrets in objs
    (a Secret the overlay does not render is the user's: `user_secret` names its keys)."""
    names = {e["name"] for e in container.get("env") or []}
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            names |= set(by_name[("ConfigMap", source["configMapRef"]["name"])]["data"])
        else:
            secret = by_name.get(("Secret", source["secretRef"]["name"]))
            names |= set(secret["data"]) if secret else user_secret
    return names


def user_secret_keys(overlay: str) -> set[str]:
    example = DEPLOY / "overlays" / overlay / "stores.env.example"
    if not example.is_file():
        return set()
    lines = example.read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


@pytest.fixture(scope="module")
def service_reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    found = {}
    for service in SERVICES:
        with pytest.MonkeyPatch.context() as monkeypatch:
            found[service] = reads_of(service, tmp_path_factory.mktemp(service), monkeypatch)
    return found


# -- probes --------------------------------------------------------------------------------------


def app_paths(service: str, data_dir: Path) -> set[str]:
    config = ServiceConfig.from_env(service, {"RF_DATA_DIR": str(data_dir), **{
        f"RF_{name.upper()}_URL": f"http://{name}.invalid:8080" for name in SERVICES
    }})  # fmt: skip
    app = importlib.import_module(f"retailflow.{service}.bootstrap").create_app(config)
    return {route.path for route in app.routes if isinstance(route, Route)}


@pytest.mark.parametrize("service", SERVICES)
def test_every_probe_path_and_port_exists_in_the_service(service: str, tmp_path: Path) -> None:
    _, container = service_container(objects("base"), service)
    paths = app_paths(service, tmp_path)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    command = container["command"]
    listens = int(command[command.index("--service-port") + 1])
    assert command[command.index("--host") + 1] == "0.0.0.0"
    probes = {kind: container[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"  # readiness: the service's own stores
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"  # liveness: the process answers
    for kind, probe in probes.items():
        get = probe["httpGet"]
        assert get["path"] in paths, f"{service} {kind} asks {get['path']}, the app serves {sorted(paths)}"
        port = ports.get(get["port"], get["port"])
        assert port == listens, f"{service} {kind} probes port {get['port']} but the service listens on {listens}"


def test_a_probe_path_the_service_does_not_serve_is_caught(tmp_path: Path) -> None:
    assert "/health" not in app_paths("catalog", tmp_path)
    assert "/readyz" in app_paths("catalog", tmp_path)


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_port_is_the_one_the_service_object_targets(service: str) -> None:
    objs = objects("base")
    _, container = service_container(objs, service)
    svc = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == service)
    target = svc["spec"]["ports"][0]["targetPort"]
    assert target in {p["name"] for p in container["ports"]}


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", SHOP_OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_rf_variable_a_service_reads_is_set_by_the_overlay(
    overlay: str, service: str, service_reads: dict[str, Any]
) -> None:
    objs = objects(overlay)
    _, container = service_container(objs, service)
    given = env_of(objs, container, user_secret_keys(overlay))
    missing = service_reads[service].env - given - LEFT_AT_DEFAULT
    assert not missing, f"{overlay}: {service} reads {sorted(missing)}, which nothing in deploy/ sets"
    assert given >= STORE_URLS, f"{overlay}: {service} gets no {sorted(STORE_URLS - given)}"


@pytest.mark.parametrize("overlay", SHOP_OVERLAYS)
def test_the_seed_init_container_gets_the_same_settings(overlay: str) -> None:
    for workload, template in pod_templates(objects(overlay)):
        if workload["kind"] != "Deployment":
            continue
        seed, main = containers(template)
        assert seed["command"][-1] == "--seed-only"
        assert seed["envFrom"] == main["envFrom"], workload["metadata"]["name"]


def test_every_rf_variable_deploy_sets_is_read_by_some_service(service_reads: dict[str, Any]) -> None:
    read = set().union(*(r.env for r in service_reads.values()))
    config = next(o for o in objects("base") if o["kind"] == "ConfigMap")
    unknown = {name for name in config["data"] if name.startswith("RF_")} - read
    assert not unknown, f"deploy/base/config.yaml sets {sorted(unknown)}, which no service reads"


def test_a_variable_nobody_decided_about_is_caught(service_reads: dict[str, Any]) -> None:
    objs = objects("in-cluster")
    config = next(o for o in objs if o["kind"] == "ConfigMap")
    del config["data"]["RF_PRODUCTS"]
    _, container = service_container(objs, "catalog")
    assert "RF_PRODUCTS" in service_reads["catalog"].env - env_of(objs, container, set()) - LEFT_AT_DEFAULT


def test_the_managed_overlay_leaves_the_store_urls_to_the_users_secret() -> None:
    objs = objects("managed-stores")
    assert not [o for o in objs if o["kind"] == "Secret"]
    assert user_secret_keys("managed-stores") == STORE_URLS
    example = read_yaml(DEPLOY / "overlays" / "managed-stores" / "kustomization.yaml")[0]
    assert "retailflow-stores" in (DEPLOY / "overlays" / "managed-stores" / "kustomization.yaml").read_text()
    assert example["resources"] == ["../../base"]


# -- calls ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_topologys_calls_are_the_upstreams_each_service_builds(service: str, service_reads: dict[str, Any]) -> None:
    # Drift guard: the policies allow CALLS; a new upstream must be allowed too, or it is cut.
    assert service_reads[service].upstreams == set(CALLS.get(service, ()))
