"""The client ledger is read strictly: a bad row is named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from retailflow.audit import LedgerEntry, LedgerError, load_ledger, parse_ledger

HEADER = "order_id,idempotency_key,items,total_cents,confirmed_ts,journey\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_text(header + body)
    return path


def test_a_well_formed_ledger_loads_every_order_with_its_items(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'o-1,k-1,"[{""sku"": ""DB-1"", ""qty"": 2}]",1998,1700000000.5,checkout\n'
        'o-2,k-2,"[{""sku"": ""A"", ""qty"": 1}, {""sku"": ""B"", ""qty"": 3}]",500,,checkout\n',
    )
    assert load_ledger(path) == [
        LedgerEntry("o-1", "k-1", (("DB-1", 2),), 1998, 1700000000.5, "checkout"),
        LedgerEntry("o-2", "k-2", (("A", 1), ("B", 3)), 500, None, "checkout"),
    ]


def test_a_ledger_with_only_a_header_holds_no_orders(tmp_path: Path) -> None:
    assert load_ledger(write(tmp_path, "")) == []


def test_a_missing_ledger_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"cannot read ledger .*nope\.csv: No such file"):
        load_ledger(tmp_path / "nope.csv")


def test_a_csv_without_the_ledger_columns_is_refused_naming_them(tmp_path: Path) -> None:
    path = write(tmp_path, "1,2\n", header="a,b\n")
    with pytest.raises(LedgerError, match=r"not a ledger, the header lacks order_id, items, total_cents"):
        load_ledger(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("o-1,k,not json,100,1,c\n", r"ledger\.csv:2: items is not JSON"),
        ('o-1,k,"{""sku"": ""A""}",100,1,c\n', r"ledger\.csv:2: items must be a JSON list"),
        ('o-1,k,"[{""qty"": 1}]",100,1,c\n', r"ledger\.csv:2: items\[0\] needs a non-empty string sku"),
        (
            'o-1,k,"[{""sku"": ""A"", ""qty"": 0}]",100,1,c\n',
            r"ledger\.csv:2: items\[0\]\.qty must be a whole number >= 1, got 0",
        ),
        (
            'o-1,k,"[{""sku"": ""A"", ""qty"": 1}]",12.5,1,c\n',
            r"ledger\.csv:2: total_cents must be a whole number, got '12\.5'",
        ),
        ('o-1,k,"[{""sku"": ""A"", ""qty"": 1}]",-5,1,c\n', r"ledger\.csv:2: total_cents must not be negative, got -5"),
        (
            'o-1,k,"[{""sku"": ""A"", ""qty"": 1}]",100,yesterday,c\n',
            r"ledger\.csv:2: confirmed_ts must be epoch seconds",
        ),
        (',k,"[{""sku"": ""A"", ""qty"": 1}]",100,1,c\n', r"ledger\.csv:2: missing order_id"),
    ],
)
def test_a_malformed_row_is_refused_naming_line_and_field(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        load_ledger(write(tmp_path, row))


def test_the_line_number_points_at_the_bad_row_not_the_first(tmp_path: Path) -> None:
    good = 'o-1,k,"[{""sku"": ""A"", ""qty"": 1}]",100,1,c\n'
    with pytest.raises(LedgerError, match=r"ledger\.csv:4: total_cents"):
        load_ledger(write(tmp_path, good + good + 'o-3,k,"[]",lots,1,c\n'))


def test_a_binary_file_is_not_a_readable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LedgerError, match=r"not a readable CSV ledger"):
        load_ledger(path)


def test_json_rows_from_the_control_api_are_validated_alike() -> None:
    rows = [{"order_id": "o-1", "idempotency_key": "k", "items": [{"sku": "A", "qty": 1}], "total_cents": 100}]
    assert parse_ledger(rows) == [LedgerEntry("o-1", "k", (("A", 1),), 100, None, "")]
    with pytest.raises(LedgerError, match=r"ledger\[1\]: items\[0\]\.qty must be a whole number >= 1, got True"):
        parse_ledger([*rows, {"order_id": "o-2", "items": [{"sku": "A", "qty": True}], "total_cents": 1}])
    with pytest.raises(LedgerError, match=r"ledger: must be a list of rows, got dict"):
        parse_ledger({"order_id": "o-1"})  # type: ignore[arg-type]
