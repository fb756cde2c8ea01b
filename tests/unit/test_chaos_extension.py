"""The extension without a shop: every experiment validates, platforms refuse what they cannot do,
arguments are checked with messages that name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed
from chaostoolkit.cli import cli
from click.testing import CliRunner

from doorbuster import chaos
from doorbuster.chaos.arguments import choice, expiry_s, fraction, names, seconds, whole
from doorbuster.chaos.platforms import NotSupported, Platform, platform_for
from doorbuster.chaos.platforms.base import Pod
from doorbuster.chaos.runner import EXPERIMENTS_DIR, ExperimentError, find_experiment, list_experiments, parse_vars
from doorbuster.chaos.selection import select_pods

EXPERIMENTS = list_experiments()
REQUIRED = {
    "kill-catalog-pod",
    "kill-inventory-pod",
    "kill-gateway-pod",
    "kill-orders-pod",
    "partition-inventory-legacy",
    "reset-inventory-legacy",
    "slow-inventory-legacy",
    "slow-payment-provider",
    "failing-payment-provider",
    "notifications-down",
    "cache-loss",
    "rolling-restart-catalog",
}


def test_the_issue_s_experiments_all_exist() -> None:
    assert {p.stem for p in EXPERIMENTS} >= REQUIRED


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_chaos_validate_passes_with_no_shop(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no shop, no data folder
    result = CliRunner().invoke(cli, ["--no-log-file", "validate", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiment_heals_always_and_names_its_platform(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert doc["runtime"]["rollbacks"]["strategy"] == "always"
    assert doc["configuration"]["platform"] == "local"
    assert doc["rollbacks"], "a fault without a rollback"
    assert doc["steady-state-hypothesis"]["probes"]
    modules = {a["provider"]["module"] for a in doc["method"] + doc["rollbacks"]}
    assert all(m.startswith("doorbuster.chaos.") for m in modules)


def test_chaos_validate_refuses_an_activity_the_extension_lacks(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXPERIMENTS_DIR / "kill-catalog-pod.yaml").read_text())
    doc["method"][0]["provider"]["func"] = "terminate_everything"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(cli, ["--no-log-file", "validate", str(path)])
    assert result.exit_code != 0


def test_discovery_lists_every_activity_with_its_arguments() -> None:
    found = {a["name"]: a for a in chaos.discover()["activities"]}
    assert {"terminate_pods", "partition_link", "provider_fault", "synthetic_traffic", "rolling_restart"} <= set(found)
    args = [a["name"] for a in found["terminate_pods"]["arguments"]]
    assert args[-2:] == ["configuration", "secrets"]
    assert "qty" in args and "mode" in args and "signal" in args


def test_an_unknown_platform_is_refused_by_name() -> None:
    with pytest.raises(NotSupported) as caught:
        platform_for({"platform": "nomad"})
    assert (
        str(caught.value)
        == "platform 'nomad' is not supported; configuration 'platform' must be one of local, kubernetes"
    )


def test_a_platform_says_what_it_does_not_support() -> None:
    class Partial(Platform):
        name = "partial"

    pod = Pod(service="catalog", name="catalog-abc", ready=True, restarts=0)
    with pytest.raises(NotSupported) as caught:
        Partial({}).freeze_pod(pod, expires_in_s=5)
    assert str(caught.value) == "freezing pod catalog-abc is not supported on partial"
    assert isinstance(caught.value, ActivityFailed)  # the activity fails in the journal; nothing passes quietly


def test_the_local_platform_is_the_default() -> None:
    assert platform_for({"data_dir": "/nonexistent"}).name == "local"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: seconds("ten", "duration_s"), "argument duration_s='ten' must be a number"),
        (lambda: seconds(-1, "duration_s"), "argument duration_s=-1 must be between 0 and 3600 seconds"),
        (
            lambda: whole("2.5", "qty", minimum=1, maximum=3),
            "argument qty='2.5' must be a whole number between 1 and 3",
        ),
        (lambda: fraction(1.5, "failure_rate"), "argument failure_rate=1.5 must be a share between 0 and 1"),
        (
            lambda: choice("drop", "mode", ("blackhole", "reset")),
            "argument mode='drop' must be one of blackhole, reset",
        ),
        (lambda: names(3, "links"), "argument links=3 must be a list of names"),
    ],
)
def test_bad_arguments_fail_naming_the_argument_and_value(call: Any, message: str) -> None:
    with pytest.raises(ActivityFailed) as caught:
        call()
    assert str(caught.value) == message


def test_arguments_from_var_arrive_as_strings_and_are_converted() -> None:
    assert seconds("2.5", "fault_s") == 2.5
    assert whole("3", "qty", maximum=5) == 3
    assert names("catalog->redis, orders->redis", "links") == ["catalog->redis", "orders->redis"]
    assert expiry_s(10, {"expiry_margin_s": "2"}) == 12
    assert expiry_s(10, {}) == 40


def test_pods_are_selected_by_quantity_or_percentage() -> None:
    pods = [Pod("catalog", f"catalog/{i}", True, 0) for i in range(4)]
    assert [p.name for p in select_pods(pods, service="catalog", qty=2, mode="fixed", rand=False, all=False)] == [
        "catalog/0",
        "catalog/1",
    ]
    assert len(select_pods(pods, service="catalog", qty=50, mode="percentage", rand=True, all=False)) == 2
    assert len(select_pods(pods, service="catalog", qty=1, mode="fixed", rand=True, all=True)) == 4
    with pytest.raises(ActivityFailed) as caught:
        select_pods(pods, service="catalog", qty=5, mode="fixed", rand=True, all=False)
    assert str(caught.value) == "argument qty=5 must be a whole number between 1 and 4"
    with pytest.raises(ActivityFailed, match="service 'catalog' has no pods to act on"):
        select_pods([], service="catalog", qty=1, mode="fixed", rand=True, all=False)


def test_experiments_are_found_by_stem_or_path_and_unknown_ones_are_named() -> None:
    assert find_experiment("kill-catalog-pod") == EXPERIMENTS_DIR / "kill-catalog-pod.yaml"
    with pytest.raises(ExperimentError) as caught:
        find_experiment("kill-everything")
    assert str(caught.value).startswith("unknown experiment 'kill-everything': not a file, nor one of cache-loss, ")
    with pytest.raises(ExperimentError) as bad:
        parse_vars(["fault_s"])
    assert str(bad.value) == "--var 'fault_s' must look like key=value, e.g. fault_s=5"
    assert parse_vars(["fault_s:int=5", "platform=local"]) == {"fault_s:int": "5", "platform": "local"}


def test_doorbuster_chaos_run_names_bad_input_and_an_unreachable_shop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doorbuster.cli import main

    run = ["chaos", "run", "--run-dir", str(tmp_path / "run"), "--data-dir", str(tmp_path / "no-shop")]
    assert main([*run, "kill-everything"]) == 2
    assert "doorbuster: error: unknown experiment 'kill-everything'" in capsys.readouterr().err
    assert main([*run, "kill-catalog-pod", "--var", "fault_s"]) == 2
    assert "--var 'fault_s' must look like key=value" in capsys.readouterr().err
    assert main([*run, "kill-catalog-pod"]) == 4
    assert f"the shop is unreachable: no shop is running from {tmp_path / 'no-shop'}" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: no method\n")
    assert main([*run, str(broken)]) == 2
    assert f"{broken}: not a Chaos Toolkit experiment (no 'method')" in capsys.readouterr().err
    assert not (tmp_path / "run" / "chaos").exists()  # nothing ran


def test_doorbuster_chaos_list_names_every_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    from doorbuster.cli import main

    assert main(["chaos", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [p.stem for p in EXPERIMENTS]


def test_the_heal_after_an_interrupt_keeps_a_selectors_mapping_but_not_chaoslibs_dynamic_values(tmp_path):
    from doorbuster.chaos.cli import _platform_configuration

    experiment = {
        "configuration": {
            "platform": "kubernetes",
            "selectors": {"catalog": "app=shop-catalog"},
            "token": {"type": "env", "key": "SHOP_TOKEN"},
        }
    }
    config = _platform_configuration(experiment, {"namespace": "shop"}, tmp_path)
    assert config["selectors"] == {"catalog": "app=shop-catalog"}
    assert "token" not in config
    assert config["namespace"] == "shop" and config["data_dir"] == str(tmp_path)
