"""One row per line key in Silver: the latest version wins, lines of one order stay
apart, and running again on the same input changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from tests.support import csv_text, drop, line, sales, table

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_two_lines_of_one_order_with_the_same_product_stay_two_lines(
    settings: Settings, tmp_path: Path
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1, quantity="2"), line(2, quantity="5")]))
    run_silver(settings)
    rows = sales(settings)
    assert [(r["order_id"], r["product_id"], r["quantity"]) for r in rows] == [
        ("US-2024-100001", "FUR-CH-10000454", 2),
        ("US-2024-100001", "FUR-CH-10000454", 5),
    ]


def test_a_later_correction_replaces_the_line_and_an_older_redelivery_does_not(
    settings: Settings, tmp_path: Path
) -> None:
    drop(settings, tmp_path, "first.csv", csv_text([line(1, sales="10.00")]))
    run_silver(settings)
    drop(settings, tmp_path / "2", "fix.csv", csv_text([line(1, sales="12.50"), line(2)]))
    second = run_silver(settings)
    assert (second.inserted, second.updated) == (1, 1)
    assert sales(settings)[0]["sales"] == Decimal("12.5000")


def test_within_one_run_the_later_file_and_line_win(settings: Settings, tmp_path: Path) -> None:
    drop(settings, tmp_path, "old.csv", csv_text([line(1, sales="1")]), when=T0)
    drop(
        settings,
        tmp_path / "new",
        "new.csv",
        csv_text([line(1, sales="2"), line(1, sales="3")]),
        when=T0 + timedelta(days=1),
    )
    result = run_silver(settings)
    (row,) = sales(settings)
    assert row["sales"] == Decimal("3.0000")
    assert result.written == 1


def test_the_same_file_twice_is_landed_once_and_merged_once(
    settings: Settings, tmp_path: Path
) -> None:
    text = csv_text([line(1), line(2)])
    first = drop(settings, tmp_path, "a.csv", text)
    again = drop(settings, tmp_path / "other", "renamed.csv", text)
    assert first == again
    run_silver(settings)
    assert len(sales(settings)) == 2


def test_a_second_run_with_no_new_files_changes_nothing_and_is_quick(
    settings: Settings, tmp_path: Path
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1), line(2, quantity="0")]))
    run_silver(settings)
    version = table(settings, "sales").version()
    q_version = table(settings, "sales_quarantine").version()

    started = time.perf_counter()
    again = run_silver(settings)
    elapsed = time.perf_counter() - started

    assert not again.committed
    assert table(settings, "sales").version() == version
    assert table(settings, "sales_quarantine").version() == q_version
    assert elapsed < 1.0


def test_a_custom_line_key_decides_what_a_duplicate_is(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        scratch_dir=str(tmp_path),
        line_key=("order_id", "row_id", "product_id"),
    )
    drop(
        settings,
        tmp_path,
        "a.csv",
        csv_text([line(1, product_id="A-1"), line(1, product_id="B-2")]),
    )
    run_silver(settings)
    assert sorted(r["product_id"] for r in sales(settings)) == ["A-1", "B-2"]
