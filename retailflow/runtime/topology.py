"""What runs where: services and replica counts, the links between them, each pod's environment.

Pure functions over the requested services and the environment of `up`, so the wiring can be
checked without starting a process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from retailflow.common.config import SERVICES
from retailflow.contracts import STORE_DEFAULT_PORTS
from retailflow.runtime.errors import TopologyError

__all__ = [
    "CALLS",
    "DEFAULT_REPLICAS",
    "STORES",
    "LinkSpec",
    "Store",
    "flows",
    "parse_replicas",
    "parse_services",
    "plan_links",
    "pod_env",
    "rewrite_host",
]

# Two cores serve eleven processes: the read paths get two replicas so a kill leaves one
# answering; the single-replica services show what a kill costs when nothing else is there.
DEFAULT_REPLICAS: Mapping[str, int] = {
    "gateway": 2,
    "catalog": 2,
    "inventory": 2,
    "orders": 2,
    "payments": 1,
    "notifications": 1,
    "legacy": 1,
}
MAX_REPLICAS = 8

# Upstreams every service may call directly (RF_<NAME>_URL = the service port). Legacy is
# reached only by inventory and only through the `inventory->legacy` link.
DIRECT_UPSTREAMS = ("catalog", "inventory", "orders", "payments", "notifications")


@dataclass(frozen=True)
class Store:
    """A networked store of the services profile, and which services reach it."""

    name: str  # the link's destination: `<service>-><name>`
    env_var: str
    users: tuple[str, ...]


# Who reads which store, as the services' bootstraps do today (a unit test compares the two):
# only these paths get a link. A service outside a list still gets the store's URL, directly,
# so a bootstrap that starts using a store works at once, just not cuttable until listed here.
STORES: tuple[Store, ...] = (
    Store("postgres", "RF_DB_URL", ("catalog", "inventory", "orders", "payments", "notifications")),
    Store("mariadb", "RF_LEGACY_DB_URL", ("legacy",)),
    Store("redis", "RF_CACHE_URL", ("catalog", "orders")),
    Store("bus", "RF_BUS_URL", ("inventory", "orders", "notifications")),
)
# Who calls whom over HTTP, as the services' bootstraps do today (a unit test compares the two).
# With STORES this is every network path the shop needs: deploy/'s NetworkPolicies allow these
# and nothing else (a contract test computes that from the policies' selectors).
CALLS: Mapping[str, tuple[str, ...]] = {
    "gateway": ("catalog", "inventory", "orders"),
    "orders": ("inventory", "payments", "catalog"),
    "inventory": ("legacy",),
}


def flows() -> frozenset[tuple[str, str]]:
    """Every (source, destination) network path of the shop: service calls and store uses."""
    calls = {(src, dst) for src, dsts in CALLS.items() for dst in dsts}
    stores = {(user, store.name) for store in STORES for user in store.users}
    return frozenset(calls | stores)


@dataclass(frozen=True)
class LinkSpec:
    """A network path through a link proxy: `src` reaches `dst` via 127.0.0.1:<listen port>."""

    name: str
    src: str
    dst: str
    target_host: str
    target_port: int
    env_var: str  # the variable of `src`'s environment that points through the link
    url: str  # the original URL; its host:port is rewritten to the proxy's

    @property
    def target(self) -> str:
        return f"{self.target_host}:{self.target_port}"


def parse_services(raw: str | None) -> tuple[str, ...]:
    """`legacy,catalog` → the services to run, in SERVICES order; None → all of them."""
    if not raw:
        return SERVICES
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SERVICES]
    if unknown:
        raise TopologyError(f"unknown service {unknown[0]!r} in --services; choose from {', '.join(SERVICES)}")
    if not wanted:
        raise TopologyError("--services names no service")
    return tuple(s for s in SERVICES if s in wanted)


def parse_replicas(items: Iterable[str], services: Iterable[str] = SERVICES) -> dict[str, int]:
    """`["gateway=3", "catalog=1,orders=2"]` over the defaults; each `svc=N` with 1 ≤ N ≤ 8."""
    services = tuple(services)
    counts = {s: DEFAULT_REPLICAS[s] for s in services}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise TopologyError(f"--replicas {part!r} must look like SERVICE=N, e.g. gateway=2")
            if name not in SERVICES:
                raise TopologyError(f"--replicas names unknown service {name!r}; choose from {', '.join(SERVICES)}")
            if name not in counts:
                raise TopologyError(f"--replicas names {name!r}, which is not among the services to run")
            try:
                count = int(value)
            except ValueError:
                raise TopologyError(f"--replicas {part!r}: {value!r} is not a whole number") from None
            if not 1 <= count <= MAX_REPLICAS:
                raise TopologyError(f"--replicas {part!r}: the count must be between 1 and {MAX_REPLICAS}")
            counts[name] = count
    return counts


def _host_port(env_var: str, url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if "," in parts.netloc:
        raise TopologyError(f"{env_var}={url!r} names several hosts; the link proxy needs exactly one")
    try:
        port = parts.port
    except ValueError:
        raise TopologyError(f"{env_var}={url!r} has an invalid port") from None
    port = port or STORE_DEFAULT_PORTS.get(parts.scheme)
    if not parts.hostname or not port:
        raise TopologyError(f"{env_var}={url!r} needs a host and a port")
    return parts.hostname, port


def rewrite_host(url: str, host: str, port: int) -> str:
    """The same URL (credentials, path, query kept) pointing at host:port."""
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def plan_links(services: Iterable[str], service_ports: Mapping[str, int], env: Mapping[str, str]) -> list[LinkSpec]:
    """Every link of this topology: inventory → legacy, and each service → its networked stores."""
    services = tuple(services)
    links: list[LinkSpec] = []
    if "inventory" in services and "legacy" in services:
        url = f"http://127.0.0.1:{service_ports['legacy']}"
        links.append(
            LinkSpec(
                "inventory->legacy", "inventory", "legacy", "127.0.0.1", service_ports["legacy"], "RF_LEGACY_URL", url
            )
        )
    for store in STORES:
        url = env.get(store.env_var) or ""
        if not url:
            continue  # embedded store: nothing on the network to cut
        host, port = _host_port(store.env_var, url)
        for service in services:
            if service in store.users:
                links.append(LinkSpec(f"{service}->{store.name}", service, store.name, host, port, store.env_var, url))
    return links


def pod_env(
    service: str,
    replica: int,
    *,
    base: Mapping[str, str],
    data_dir: str,
    service_ports: Mapping[str, int],
    links: Iterable[LinkSpec],
    link_ports: Mapping[str, int],
) -> dict[str, str]:
    """The environment of one pod: upstream URLs, store URLs through its links, its replica number."""
    env = dict(base)
    for name in (*DIRECT_UPSTREAMS, "legacy"):
        env.pop(f"RF_{name.upper()}_URL", None)
    for name in DIRECT_UPSTREAMS:
        if name in service_ports:
            env[f"RF_{name.upper()}_URL"] = f"http://127.0.0.1:{service_ports[name]}"
    for link in links:
        if link.src == service:
            env[link.env_var] = rewrite_host(link.url, "127.0.0.1", link_ports[link.name])
    env["RF_DATA_DIR"] = data_dir
    env["RF_REPLICA"] = str(replica)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
