"""Date formats are detected per file; a day/month value the file's own format does
not settle is quarantined, never guessed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from tests.support import csv_text, drop, line, quarantine, sales


def _judge(settings: Settings, tmp_path: Path, dates: list[tuple[str, str]]) -> None:
    rows = [line(i + 1, order_date=o, ship_date=s) for i, (o, s) in enumerate(dates)]
    drop(settings, tmp_path, "dates.csv", csv_text(rows))
    run_silver(settings)


def test_a_day_first_file_reads_day_first(settings: Settings, tmp_path: Path) -> None:
    _judge(settings, tmp_path, [("05-03-2024", "08-03-2024"), ("11-04-2024", "12-04-2024")])
    assert [r["order_date"] for r in sales(settings)] == [date(2024, 3, 5), date(2024, 4, 11)]


def test_a_month_first_file_reads_month_first(settings: Settings, tmp_path: Path) -> None:
    _judge(settings, tmp_path, [("03/05/2024", "03/08/2024"), ("04/11/2024", "04/12/2024")])
    assert [r["order_date"] for r in sales(settings)] == [date(2024, 3, 5), date(2024, 4, 11)]


def test_a_swappable_value_in_the_other_convention_is_ambiguous(
    settings: Settings, tmp_path: Path
) -> None:
    _judge(
        settings,
        tmp_path,
        [("05-03-2024", "08-03-2024"), ("11-04-2024", "12-04-2024"), ("04/05/2024", "")],
    )
    (rejected,) = quarantine(settings)
    assert (rejected["_reason"], rejected["_value"]) == ("ambiguous_date", "04/05/2024")


def test_a_value_readable_one_way_only_is_taken(settings: Settings, tmp_path: Path) -> None:
    _judge(
        settings,
        tmp_path,
        [("05-03-2024", "08-03-2024"), ("11-04-2024", "12-04-2024"), ("04/25/2024", "")],
    )
    assert quarantine(settings) == []
    assert sales(settings)[2]["order_date"] == date(2024, 4, 25)


def test_iso_dates_are_never_ambiguous_and_invalid_ones_are_named(
    settings: Settings, tmp_path: Path
) -> None:
    _judge(settings, tmp_path, [("2024-03-05", "2024-03-06"), ("2023-02-29", "")])
    (rejected,) = quarantine(settings)
    assert (rejected["_reason"], rejected["_value"]) == ("invalid_date", "2023-02-29")


def test_in_an_iso_file_a_swappable_day_month_value_is_ambiguous(
    settings: Settings, tmp_path: Path
) -> None:
    _judge(settings, tmp_path, [("2024-03-05", "2024-03-06"), ("2024-03-07", "03-04-2024")])
    (rejected,) = quarantine(settings)
    assert (rejected["_reason"], rejected["_field"]) == ("ambiguous_date", "ship_date")
