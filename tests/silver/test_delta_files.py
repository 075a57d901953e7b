"""Data files that DuckDB writes are committed with the statistics Delta readers use
to skip files, read from their Parquet footers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from salespipe.silver.delta_files import add_action, file_stats
from tests.support import csv_text, drop, line, table


def test_footer_statistics_read_as_delta_spells_them(tmp_path: Path) -> None:
    path = tmp_path / "part.parquet"
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
              ('B', 2, DATE '2024-01-31', 1.5::DECIMAL(18,4),
               TIMESTAMPTZ '2026-01-05 09:00:00.000400+00'),
              ('A', NULL, DATE '2023-12-01', -2.25::DECIMAL(18,4),
               TIMESTAMPTZ '2026-01-05 09:00:00.002+00'))
            AS t(name, count, day, money, stamp)) TO '{path}' (FORMAT parquet)"""
    )
    stats = json.loads(file_stats(path))
    assert stats["numRecords"] == 2
    assert stats["nullCount"] == {"name": 0, "count": 1, "day": 0, "money": 0, "stamp": 0}
    assert stats["minValues"] == {
        "name": "A",
        "count": 2,
        "day": "2023-12-01",
        "money": -2.25,
        "stamp": "2026-01-05T09:00:00.000Z",
    }
    # The maximum rounds up to the millisecond: the range still holds every value.
    assert stats["maxValues"]["stamp"] == "2026-01-05T09:00:00.002Z"
    assert stats["maxValues"]["money"] == 1.5
    action = add_action(path, "part.parquet")
    assert (action.path, action.size, action.data_change) == (
        "part.parquet",
        path.stat().st_size,
        True,
    )


def test_silver_files_carry_their_row_counts_and_key_ranges(
    settings: Settings, tmp_path: Path
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(3), line(1), line(2, quantity="0")]))
    run_silver(settings)
    (action,) = pa.table(table(settings, "sales").get_add_actions(flatten=True)).to_pylist()
    assert action["num_records"] == 2
    assert (action["min.row_id"], action["max.row_id"]) == (1, 3)
    assert action["null_count.ship_date"] == 0
