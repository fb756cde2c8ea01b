"""Another shop's label selectors (a service → selector mapping), checked before any cluster call.

On the Kubernetes platform a service's pods are found by `selectors[service]`, else by the
RetailFlow `label_selector` template. A mapping that forgets a service the experiment acts on
would silently fall back to RetailFlow's labels in the user's namespace, so it is refused here,
naming the service, before Chaos Toolkit starts or the cluster is asked anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SelectorError", "check_selectors", "read_selectors", "services_named"]

# The stores a link may end at: found by their role label unless mapped (kubernetes_links.STORES).
STORE_ENDS = ("postgres", "mariadb", "redis", "bus")


class SelectorError(ValueError):
    """A selector mapping that cannot be used; the message names the file, service or value."""


def read_selectors(path: str | Path) -> dict[str, str]:
    """A YAML (or JSON) mapping of service → label selector, each a non-empty string."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"not valid YAML: {exc}"
        raise SelectorError(f"selector mapping {path}: cannot read it ({why})") from None
    if not isinstance(data, Mapping) or not data:
        raise SelectorError(f"selector mapping {path}: expected a mapping of service: label selector, e.g. "
                            "'gateway: app=web'")  # fmt: skip
    mapping: dict[str, str] = {}
    for service, selector in data.items():
        if not isinstance(selector, str) or not selector.strip():
            raise SelectorError(f"selector mapping {path}: {service}: expected a label selector such as "
                                f"'app={service}', got {selector!r}")  # fmt: skip
        mapping[str(service)] = selector.strip()
    return mapping


def _activities(experiment: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for activity in [*(hypothesis.get("probes") or []), *(experiment.get("method") or []),
                     *(experiment.get("rollbacks") or [])]:  # fmt: skip
        if isinstance(activity, Mapping):
            yield activity


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str) and not v.startswith("${")]


def services_named(experiment: Mapping[str, Any]) -> list[str]:
    """The services an experiment's activities act on or probe by name (`service`, `services`,
    and the ends of `link`/`links` that are not stores), in order of first mention."""
    found: dict[str, None] = {}
    for activity in _activities(experiment):
        arguments = (activity.get("provider") or {}).get("arguments") or {}
        for key in ("service", "services"):
            found.update(dict.fromkeys(_names(arguments.get(key))))
        for key in ("link", "links"):
            for link in _names(arguments.get(key)):
                ends = [end.strip() for end in link.split("->")]
                found.update(dict.fromkeys(end for end in ends if end and end not in STORE_ENDS))
    return list(found)


def check_selectors(experiment: Mapping[str, Any], selectors: Mapping[str, str], name: str, source: str) -> None:
    """SelectorError naming the first service `experiment` needs that `selectors` does not map."""
    missing = [service for service in services_named(experiment) if service not in selectors]
    if missing:
        more = f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""
        raise SelectorError(
            f"selector mapping {source}: no selector for service {missing[0]!r}, which experiment {name} acts on"
            f"{more}; it maps only {', '.join(sorted(selectors))}"
        )
