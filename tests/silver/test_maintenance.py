"""Retention: VACUUM removes the Silver files no version needs once they are older than
the retention, never a file the current version reads, and never the history."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from salespipe.silver.ledger import read_ledger
from salespipe.silver.maintenance import vacuum_silver
from salespipe.silver.tables import QUARANTINE, SALES
from tests.support import age_history, correct_a_line, csv_text, drop, line, sales, table

DAY = 86_400


def data_files(settings: Settings, name: str) -> set[str]:
    """The table's files in storage, the log aside."""
    return {
        i.key for i in settings.silver.child(name).list("") if not i.key.startswith("_delta_log/")
    }


def referenced(settings: Settings, name: str) -> set[str]:
    """The files the table's current version reads (Silver's tables are unpartitioned)."""
    return {uri.rsplit("/", 1)[1] for uri in table(settings, name).file_uris()}


@pytest.fixture
def corrected(settings: Settings, tmp_path: Path) -> Settings:
    correct_a_line(settings, tmp_path / "drops")
    return settings


def test_a_rewritten_file_is_removed_once_the_retention_has_passed(corrected: Settings) -> None:
    settings = corrected
    figures = layer_status(settings)
    rows = sales(settings)
    live = referenced(settings, SALES)
    stale = data_files(settings, SALES) - live
    assert len(stale) == 1
    version = table(settings, SALES).version()

    assert vacuum_silver(settings, retention_days=1).removed == 0  # replaced just now
    assert DeltaTable(table(settings, SALES).table_uri, version=0).to_pyarrow_table().num_rows
    assert age_history(settings, SALES, days=8) == 1
    assert vacuum_silver(settings, retention_days=9).removed == 0  # not old enough yet

    report = vacuum_silver(settings, retention_days=7)

    vacuumed, quarantine = report.tables
    assert (vacuumed.table, set(vacuumed.files)) == (SALES, stale)
    assert (quarantine.table, quarantine.files) == (QUARANTINE, ())  # append-only
    assert data_files(settings, SALES) == live
    assert sales(settings) == rows
    assert layer_status(settings) == figures  # rows, totals, ledger, version
    assert vacuumed.version == version == table(settings, SALES).version()
    assert vacuum_silver(settings, retention_days=7).removed == 0  # a re-run finds nothing


def test_a_dry_run_lists_what_a_run_removes_and_removes_nothing(corrected: Settings) -> None:
    age_history(corrected, SALES, days=8)
    before = data_files(corrected, SALES)

    dry = vacuum_silver(corrected, dry_run=True)

    assert dry.dry_run and dry.removed == 1
    assert data_files(corrected, SALES) == before
    removed = vacuum_silver(corrected)
    assert [t.files for t in removed.tables] == [t.files for t in dry.tables]
    assert data_files(corrected, SALES) == before - set(dry.tables[0].files)


def test_the_history_and_the_ledger_outlive_the_files(corrected: Settings) -> None:
    """Only data files go: every commit stays, so Silver still knows which Bronze
    objects it took; the versions older than the retention no longer load."""
    history = table(corrected, SALES).history()
    ledger = read_ledger(table(corrected, SALES))
    age_history(corrected, SALES, days=8)

    assert vacuum_silver(corrected).removed == 1

    assert table(corrected, SALES).history() == history
    assert read_ledger(table(corrected, SALES)) == ledger
    assert not run_silver(corrected).committed  # nothing is taken again
    with pytest.raises(FileNotFoundError):
        DeltaTable(table(corrected, SALES).table_uri, version=0).to_pyarrow_table()


def test_a_file_no_commit_added_goes_only_when_older_than_the_retention(
    corrected: Settings,
) -> None:
    """Files a crashed run left behind go; files a running Silver step wrote but has not
    committed yet are minutes old, so they stay."""
    folder = Path(corrected.silver.uri(SALES))
    crashed, in_flight = folder / "part-crashed.parquet", folder / "part-in-flight.parquet"
    for path in (crashed, in_flight):
        path.write_bytes(b"PAR1")
    week_ago = time.time() - 8 * DAY
    os.utime(crashed, (week_ago, week_ago))

    report = vacuum_silver(corrected, retention_days=7)

    assert report.tables[0].files == ("part-crashed.parquet",)
    assert in_flight.exists() and not crashed.exists()


def test_tables_not_created_yet_have_nothing_to_vacuum(settings: Settings) -> None:
    report = vacuum_silver(settings)
    assert [(t.table, t.version, t.files) for t in report.tables] == [
        (SALES, None, ()),
        (QUARANTINE, None, ()),
    ]
    assert not settings.silver.exists("")


def test_a_table_without_history_keeps_every_file(settings: Settings, tmp_path: Path) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1), line(2, quantity="0")]))
    run_silver(settings)
    files = {name: data_files(settings, name) for name in (SALES, QUARANTINE)}
    assert age_history(settings, SALES, days=30) == 0

    assert vacuum_silver(settings, retention_days=1).removed == 0
    assert {name: data_files(settings, name) for name in files} == files


@pytest.mark.parametrize("days", [0, -1])
def test_a_retention_under_a_day_is_refused(settings: Settings, days: int) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        vacuum_silver(settings, retention_days=days)


@pytest.mark.s3
def test_vacuum_on_s3(s3_settings: Settings, tmp_path: Path) -> None:
    correct_a_line(s3_settings, tmp_path)
    rows = sales(s3_settings)
    live = referenced(s3_settings, SALES)
    age_history(s3_settings, SALES, days=8)

    assert vacuum_silver(s3_settings).removed == 1

    assert data_files(s3_settings, SALES) == live
    assert sales(s3_settings) == rows
    assert vacuum_silver(s3_settings).removed == 0
