"""Another shop's selector mapping is checked against what an experiment acts on, before any cluster call."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorbuster.chaos.runner import find_experiment, read_experiment
from doorbuster.chaos.selectors import SelectorError, check_selectors, read_selectors, services_named


def test_an_experiment_names_the_services_it_acts_on_and_the_service_ends_of_its_links() -> None:
    partition = read_experiment(find_experiment("partition-inventory-legacy"))
    assert services_named(partition) == ["inventory", "legacy"]
    assert services_named(read_experiment(find_experiment("kill-gateway-pod"))) == ["gateway"]
    store_link = {"method": [{"provider": {"arguments": {"link": "orders->postgres", "services": ["${who}"]}}}]}
    assert services_named(store_link) == ["orders"], "a store end is found by its role label; a template is no name"


def test_a_mapping_that_names_every_service_passes_and_one_that_misses_one_names_it() -> None:
    partition = read_experiment(find_experiment("partition-inventory-legacy"))
    check_selectors(partition, {"inventory": "app=stock", "legacy": "app=old-erp"}, "partition", "mine.yaml")
    with pytest.raises(SelectorError, match="no selector for service 'legacy', which experiment partition acts on"):
        check_selectors(partition, {"inventory": "app=stock"}, "partition", "mine.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gateway: ''\n", "gateway: expected a label selector"),
        ("- gateway\n", "expected a mapping of service: label selector"),
        ("gateway: [app\n", "not valid YAML"),
    ],
)
def test_a_malformed_mapping_is_refused_naming_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "selectors.yaml"
    path.write_text(text)
    with pytest.raises(SelectorError, match=message):
        read_selectors(path)
    assert read_selectors(_good(tmp_path)) == {"gateway": "app=web"}


def _good(folder: Path) -> Path:
    path = folder / "good.yaml"
    path.write_text("gateway: ' app=web '\n")
    return path
