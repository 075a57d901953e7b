"""A Silver run that corrects known keys commits twice (MERGE, then append); a Gold
build that lands between the two must not count the run as taken."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from deltalake import DeltaTable

from salespipe.gold import build_gold, gold_status

from .conftest import copy_data_dir, merge_into_silver


def test_a_build_between_a_runs_two_commits_takes_the_rest_next_time(
    silver_dir: Path, tmp_path: Path
) -> None:
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    assert build_gold(settings).success
    silver = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table().slice(0, 5).to_pylist()
    stamp, run = datetime(2026, 2, 1, tzinfo=UTC), "batch-20260201T000000Z-partial"
    for row in silver:
        row["_ingested_at"], row["_event_time"], row["_batch_id"] = stamp, stamp, run
    corrected, appended = silver[:2], silver[2:]
    for n, row in enumerate(appended):
        row["order_id"] = f"LATE-{n}"

    merge_into_silver(settings, corrected)  # the run's first commit: its known keys
    assert build_gold(settings).success  # a build sees only part of the run
    merge_into_silver(settings, appended)  # its second commit: the new keys
    assert build_gold(settings).success

    lines = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table()
    assert gold_status(settings)["fact_rows"] == lines.num_rows
    assert gold_status(settings)["sales_total"] == str(
        sum(lines["sales"].to_pylist(), start=type(lines["sales"][0].as_py())(0))
    )
