"""Every rule, one line each: where a line ends up, for which reason, naming which
field and value, at which line of which file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salespipe.contract.rules import Reason
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from tests.support import csv_text, drop, line, quarantine, sales

# (overrides, expected reason, field, offending value); None: accepted.
CASES: list[tuple[dict[str, str], Reason | None, str | None, str | None]] = [
    ({}, None, None, None),
    ({"customer_id": ""}, Reason.MISSING_REQUIRED, "customer_id", None),
    ({"order_date": "   "}, Reason.MISSING_REQUIRED, "order_date", None),
    ({"ship_date": ""}, None, None, None),  # optional: not shipped yet
    ({"postal_code": ""}, None, None, None),
    ({"order_date": "2024-02-30"}, Reason.INVALID_DATE, "order_date", "2024-02-30"),
    ({"order_date": "yesterday"}, Reason.INVALID_DATE, "order_date", "yesterday"),
    ({"ship_date": "03/04/2024"}, Reason.AMBIGUOUS_DATE, "ship_date", "03/04/2024"),
    ({"ship_date": "2024-03-01"}, Reason.SHIP_BEFORE_ORDER, "ship_date", "2024-03-01"),
    ({"quantity": "0"}, Reason.NON_POSITIVE_QUANTITY, "quantity", "0"),
    ({"quantity": "-2"}, Reason.NON_POSITIVE_QUANTITY, "quantity", "-2"),
    ({"quantity": "1.5"}, Reason.INVALID_NUMBER, "quantity", "1.5"),
    ({"quantity": "three"}, Reason.INVALID_NUMBER, "quantity", "three"),
    ({"quantity": "99999999999"}, Reason.OUT_OF_RANGE, "quantity", "99999999999"),
    ({"sales": "-1.00"}, Reason.NEGATIVE_SALES, "sales", "-1.00"),
    ({"sales": "12.34567"}, Reason.OUT_OF_RANGE, "sales", "12.34567"),
    ({"sales": "123456789012345678"}, Reason.OUT_OF_RANGE, "sales", "123456789012345678"),
    ({"sales": "1,000.00"}, Reason.INVALID_NUMBER, "sales", "1,000.00"),
    ({"discount": "1.5"}, Reason.DISCOUNT_OUT_OF_RANGE, "discount", "1.5"),
    ({"discount": "-0.1"}, Reason.DISCOUNT_OUT_OF_RANGE, "discount", "-0.1"),
    ({"discount": "1"}, None, None, None),
    ({"profit": "-999.9999"}, None, None, None),  # a loss is allowed
    ({"ship_mode": "standard class"}, None, None, None),  # standardized
    ({"ship_mode": "Teleport"}, Reason.UNKNOWN_VALUE, "ship_mode", "Teleport"),
    ({"order_priority": "urgent"}, Reason.UNKNOWN_VALUE, "order_priority", "urgent"),
    ({"row_id": "x1"}, Reason.INVALID_NUMBER, "row_id", "x1"),
    ({"customer_id": "", "quantity": "0"}, Reason.MISSING_REQUIRED, "customer_id", None),
]


def case_row_id(index: int) -> str:
    return CASES[index][0].get("row_id", str(index + 1))


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One file holding every case (line n + 1 is case n), judged once."""
    tmp = tmp_path_factory.mktemp("rules")
    settings = Settings(data_dir=str(tmp / "data"), scratch_dir=str(tmp))
    lines = [line(i + 1, **overrides) for i, (overrides, *_) in enumerate(CASES)]
    key = drop(settings, tmp / "in", "cases.csv", csv_text(lines))
    result = run_silver(settings)
    return {
        "key": key,
        "result": result,
        "accepted": {int(r["row_id"]): r for r in sales(settings)},
        "rejected": {r["_source_position"] - 1: r for r in quarantine(settings)},
    }


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)))
def test_each_line_is_accepted_or_quarantined_for_its_reason(
    judged: dict[str, Any], index: int, case: tuple[Any, ...]
) -> None:
    _, reason, field, value = case
    row_id = index + 1
    if reason is None:
        assert row_id in judged["accepted"]
        assert row_id not in judged["rejected"]
        return
    rejected = judged["rejected"][row_id]
    assert rejected["_reason"] == reason.value
    assert rejected["_field"] == field
    assert rejected["_value"] == value
    assert rejected["_source_object"] == judged["key"]
    assert rejected["row_id"] == case_row_id(index)  # raw text, as it arrived
    assert row_id not in judged["accepted"]


def test_a_line_breaking_several_rules_keeps_every_reason(judged: dict[str, Any]) -> None:
    last = judged["rejected"][len(CASES)]
    assert last["_reasons"] == [Reason.MISSING_REQUIRED.value, Reason.NON_POSITIVE_QUANTITY.value]


def test_accepted_values_are_typed_exactly_and_standardized(judged: dict[str, Any]) -> None:
    from datetime import date
    from decimal import Decimal

    first = judged["accepted"][1]
    assert first["sales"] == Decimal("731.9400")
    assert first["profit"] == Decimal("-21.9600")
    assert first["order_date"] == date(2024, 3, 5)
    assert first["postal_code"] == "02134"
    assert first["product_name"] == 'Hon 4070 Series Chair, 24" Wide, "Gray"'
    standardized = next(r for r in judged["accepted"].values() if r["row_id"] == 23)
    assert standardized["ship_mode"] == "Standard Class"


def test_the_run_counts_every_line_once(judged: dict[str, Any]) -> None:
    result = judged["result"]
    expected_rejects = sum(1 for _, reason, *_ in CASES if reason is not None)
    assert result.quarantined == expected_rejects
    assert result.accepted == len(CASES) - expected_rejects
    assert result.by_reason[Reason.UNKNOWN_VALUE.value] == 2


def test_lineage_names_the_batch_and_system(judged: dict[str, Any], tmp_path: Path) -> None:
    row = judged["accepted"][1]
    assert row["_source_system"] == "batch"
    assert row["_batch_id"] == judged["result"].batch_id
    assert row["_source_position"] == 2
