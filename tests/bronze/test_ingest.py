"""Bronze keeps raw files exactly as they arrived, date-partitioned, once per content."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from salespipe.bronze.ingest import expand_inputs, land
from salespipe.bronze.layout import batch_files, landed_marker
from salespipe.settings import Settings


def test_a_file_lands_unchanged_under_its_landing_date(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "Sales Export.CSV"
    source.write_bytes(b"row_id,order_id\r\n1,A\r\n")
    landing = land(settings.bronze, source, now=datetime(2026, 3, 9, 23, 59, tzinfo=UTC))
    assert landing.landed
    assert landing.key.startswith("sales_data/year=2026/month=03/day=09/Sales Export.")
    assert landing.key.endswith(".csv")
    assert settings.bronze.read_bytes(landing.key) == source.read_bytes()


def test_landing_the_same_content_again_is_a_no_op(settings: Settings, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("x\n1\n")
    second.write_text("x\n1\n")
    one = land(settings.bronze, first, now=datetime(2026, 1, 1, tzinfo=UTC))
    two = land(settings.bronze, second, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert (one.landed, two.landed) == (True, False)
    assert two.key == one.key
    assert [i.key for i in batch_files(settings.bronze)] == [one.key]


def test_the_index_records_where_and_when_content_landed(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "a.csv"
    source.write_text("x\n1\n")
    landing = land(settings.bronze, source)
    (marker,) = list(settings.bronze.list("_salespipe/landed"))
    record = json.loads(settings.bronze.read_bytes(marker.key))
    assert record["key"] == landing.key
    assert marker.key == landed_marker(record["sha256"])


def test_folders_expand_to_their_csv_files_and_missing_paths_are_named(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.csv").write_text("x")
    (tmp_path / "d" / "notes.txt").write_text("x")
    assert expand_inputs([tmp_path / "d"]) == [tmp_path / "d" / "b.csv"]
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        expand_inputs([tmp_path / "nope.csv"])


def test_event_files_are_not_batch_files(settings: Settings) -> None:
    settings.bronze.write_bytes("sales_data/sales_events/year=2026/x.json", b"{}")
    settings.bronze.write_bytes("sales_data/year=2026/month=01/day=01/a.csv", b"x")
    assert [i.key for i in batch_files(settings.bronze)] == [
        "sales_data/year=2026/month=01/day=01/a.csv"
    ]
