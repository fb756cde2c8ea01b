"""The audit against real SQLite stores built with each service's own schema and code, filled
by checkouts, then damaged one kind at a time; and `doorbuster audit`'s exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from doorbuster.cli import main
from retailflow.audit import LedgerEntry, StoreUnreachable, run_audit
from retailflow.common.config import ServiceConfig
from tests.support.audit_stores import (
    Stores,
    assert_audit_breaks_only,
    broken,
    built_stores,
    each_damage,
    leak_stock,
    sale_completes_after_the_orders_are_read,
    stock_reserved_after_each_stock_read,
)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with built_stores(ServiceConfig("gateway", data_dir=tmp_path)) as stores:
        yield stores


def test_stores_filled_by_real_checkouts_pass_every_invariant(stores: Stores) -> None:
    audit = run_audit(stores.config, stores.ledger)
    assert broken(audit) == {}
    assert audit["ok"] is True
    stock = next(inv for inv in audit["invariants"] if inv["name"] == "stock_conservation")
    assert stock["details"] == [{"note": "1 orders still in flight (neither confirmed nor failed)"}]


@each_damage
def test_each_kind_of_damage_to_the_stores_breaks_exactly_its_invariant(
    stores: Stores, damage: Callable[[Stores], None], invariant: str, detail: dict[str, Any]
) -> None:
    assert_audit_breaks_only(stores, damage, invariant, detail)


def test_a_sale_completing_while_the_audit_reads_the_stores_is_not_a_violation(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inventory sold o-4's unit after the audit read the orders (o-4 still "authorized" there).
    sale_completes_after_the_orders_are_read(stores, monkeypatch)
    assert broken(run_audit(stores.config, stores.ledger)) == {}


def test_a_failed_order_keeping_its_stock_is_caught_while_a_sale_of_the_same_sku_completes(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores.failed_keeping_stock("o-7", [("DB-1", 1)])
    sale_completes_after_the_orders_are_read(stores, monkeypatch)
    details = broken(run_audit(stores.config, stores.ledger))
    assert list(details) == ["stock_conservation"]
    assert [d for d in details["stock_conservation"] if "note" not in d] == [
        {"sku": "DB-1", "problem": "sold 4 before the orders were read and 5 after, but 3 units bought by orders"}
    ]


def test_stock_reserved_between_the_audit_reads_of_inventory_is_not_a_violation(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock_reserved_after_each_stock_read(stores, monkeypatch)
    audit = run_audit(stores.config, stores.ledger)
    assert "stock_conservation" not in broken(audit)
    assert stores.inventory.stock("SKU-3").reserved == 2  # both checkouts did reserve meanwhile


def test_settling_looks_again_until_the_legacy_dual_write_has_caught_up(stores: Stores) -> None:
    stores.checkout("o-5", [("SKU-3", 1)])  # its dual-write not yet relayed: legacy lags behind
    looks: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        looks.append(seconds)
        now[0] += seconds
        if len(looks) == 3:
            stores.relay_legacy()  # the relay catches up during the third pause

    audit = run_audit(stores.config, stores.ledger, settle_s=30, clock=lambda: now[0], sleep=sleep)
    assert audit["ok"] is True
    assert looks == [1.0, 1.0, 1.0]
    convergence = next(inv for inv in audit["invariants"] if inv["name"] == "legacy_convergence")
    assert convergence["details"] == [{"note": "broken at first look; clean after settling 3.0s"}]


def test_settling_gives_up_on_damage_that_stays_and_says_so(stores: Stores) -> None:
    leak_stock(stores)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    audit = run_audit(stores.config, stores.ledger, settle_s=2.5, clock=lambda: now[0], sleep=sleep)
    assert audit["ok"] is False
    stock = next(inv for inv in audit["invariants"] if inv["name"] == "stock_conservation")
    assert stock["details"][-1] == {"note": "broken at first look; still broken after settling 2.5s"}
    assert now[0] == 2.5


def test_a_data_dir_without_the_shop_is_unreachable_naming_the_file(tmp_path: Path) -> None:
    config = ServiceConfig("gateway", data_dir=tmp_path / "elsewhere")
    with pytest.raises(
        StoreUnreachable,
        match=r"no such store: .*elsewhere/payments\.db, .*elsewhere/orders\.db.*; is .*elsewhere the data dir",
    ):
        run_audit(config, None)
    assert not (tmp_path / "elsewhere").exists()  # the audit never creates a store


# -- the command line: `doorbuster audit` ------------------------------------------------------


def write_ledger(path: Path, entries: list[LedgerEntry]) -> Path:
    rows = ["order_id,idempotency_key,items,total_cents,confirmed_ts,journey"]
    for e in entries:
        items = json.dumps([{"sku": s, "qty": q} for s, q in e.items]).replace('"', '""')
        rows.append(f'{e.order_id},{e.idempotency_key},"{items}",{e.total_cents},{e.confirmed_ts},{e.journey}')
    path.write_text("\n".join(rows) + "\n")
    return path


def audit_cli(*args: str | Path) -> int:
    return main(["audit", *map(str, args)])


def test_the_command_exits_0_and_summarises_a_clean_shop(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", stores.ledger)
    assert audit_cli("--ledger", ledger, "--data-dir", stores.config.data_dir) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit OK at ")
    assert "ok   ledger_orders_exist" in out and "FAIL" not in out


def test_the_command_exits_1_naming_the_broken_invariant_and_writes_audit_json(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak_stock(stores)
    ledger = write_ledger(tmp_path / "ledger.csv", stores.ledger)
    out_file = tmp_path / "run" / "audit.json"
    args = ("--ledger", ledger, "--data-dir", stores.config.data_dir, "--settle", "0", "--json", "--out", out_file)
    assert audit_cli(*args) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out_file.read_text())
    assert printed["ok"] is False
    assert [inv["name"] for inv in printed["invariants"] if not inv["ok"]] == ["stock_conservation"]


def test_a_malformed_ledger_exits_2_naming_line_and_field(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text('order_id,idempotency_key,items,total_cents,confirmed_ts,journey\no-1,k,"[]",ten,1,c\n')
    assert audit_cli("--ledger", ledger, "--data-dir", stores.config.data_dir) == 2
    assert "ledger.csv:2: total_cents must be a whole number, got 'ten'" in capsys.readouterr().err


def test_a_settle_time_out_of_range_exits_2(stores: Stores, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("--data-dir", stores.config.data_dir, "--settle", "-1") == 2
    assert "--settle -1 must be between 0 and 3600 seconds" in capsys.readouterr().err


def test_a_missing_ledger_file_exits_2(stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("--ledger", tmp_path / "nope.csv", "--data-dir", stores.config.data_dir) == 2
    assert "cannot read ledger" in capsys.readouterr().err


def test_a_data_dir_without_a_shop_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("--data-dir", tmp_path) == 4
    assert f"no such store: {tmp_path}/payments.db" in capsys.readouterr().err


def test_a_store_that_is_not_a_database_exits_4_naming_it(stores: Stores, capsys: pytest.CaptureFixture[str]) -> None:
    (stores.config.data_dir / "orders.db").write_bytes(b"this is not a database" * 100)
    for junk in stores.config.data_dir.glob("orders.db-*"):
        junk.unlink()
    assert audit_cli("--data-dir", stores.config.data_dir) == 4
    err = capsys.readouterr().err
    assert "the orders store is unreachable" in err and "orders.db: file is not a database" in err


def test_a_database_server_that_does_not_answer_exits_4_naming_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on loopback refuses at once: the services profile with its server down.
    monkeypatch.setenv("RF_DB_URL", "postgresql://postgres@127.0.0.1:1/shop")
    monkeypatch.setenv("RF_LEGACY_DB_URL", "mysql://root@127.0.0.1:1/legacy")
    assert audit_cli("--data-dir", tmp_path) == 4
    err = capsys.readouterr().err
    assert "the inventory store is unreachable: cannot connect to postgresql://postgres@127.0.0.1:1/shop" in err


def test_a_services_profile_shop_without_its_database_urls_exits_2_saying_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RF_DB_URL", raising=False)
    (tmp_path / "runtime.json").write_text('{"profile": "services", "pods": []}')
    assert audit_cli("--data-dir", tmp_path) == 2
    assert "runs the services profile; set RF_DB_URL and RF_LEGACY_DB_URL" in capsys.readouterr().err


def test_a_view_answering_rows_of_another_shape_is_named_not_a_traceback(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import retailflow.payments.audit_view as payments_view

    monkeypatch.setattr(payments_view, "captures", lambda db: [{"payment_id": "o-1", "order_id": "o-1"}])
    assert audit_cli("--data-dir", stores.config.data_dir) == 2
    assert "the payments audit view answered captures the audit cannot read (KeyError('amount'))" in (
        capsys.readouterr().err
    )


def test_without_data_dir_the_command_audits_the_folder_up_used(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOORBUSTER_DATA_DIR", str(stores.config.data_dir))
    monkeypatch.setenv("RF_DATA_DIR", "/nonexistent/pods-only")  # a pod's variable, not the user's
    assert audit_cli("--settle", "0") == 0
    assert capsys.readouterr().out.startswith("audit OK")
