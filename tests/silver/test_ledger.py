"""The ledger (which Bronze objects Silver took) lives in the tables' commit history,
so that history is never pruned, however old or long it grows."""

from __future__ import annotations

import os
import time
from pathlib import Path

from salespipe.settings import Settings
from salespipe.silver.batch import find_work, run_silver
from salespipe.silver.ledger import TABLE_PROPERTIES, read_ledger
from salespipe.silver.tables import QUARANTINE, SALES, SALES_SCHEMA
from tests.support import csv_text, drop, line, table

CLEANUP = "delta.enableExpiredLogCleanup"


def test_new_tables_keep_their_whole_log(settings: Settings, tmp_path: Path) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1), line(2, sales="bad")]))
    run_silver(settings)
    for name in (SALES, QUARANTINE):
        assert table(settings, name).metadata().configuration[CLEANUP] == "false"


def test_the_ledger_survives_a_checkpoint_over_an_old_log(
    settings: Settings, tmp_path: Path
) -> None:
    """A checkpoint (every 100 commits) prunes log entries older than 30 days unless the
    table says not to; the first object's ledger entry must outlive it."""
    first = drop(settings, tmp_path, "a.csv", csv_text([line(1)]))
    run_silver(settings)
    sales = table(settings, SALES)
    for _ in range(98 - sales.version()):  # empty commits up to version 98
        sales.create_write_transaction([], mode="append", schema=SALES_SCHEMA)
        sales.update_incremental()
    log = Path(settings.silver.uri(f"{SALES}/_delta_log"))
    long_ago = time.time() - 40 * 86_400
    for entry in log.iterdir():
        os.utime(entry, (long_ago, long_ago))

    drop(settings, tmp_path, "b.csv", csv_text([line(3)]))
    run_silver(settings)  # commits version 99 and 100: a checkpoint

    assert any(p.name.endswith(".checkpoint.parquet") for p in log.iterdir())
    assert first in read_ledger(table(settings, SALES)).files
    assert not find_work(settings)  # nothing is taken twice
    assert run_silver(settings).files == []


def test_a_table_made_before_gets_the_properties_on_its_next_run(
    settings: Settings, tmp_path: Path
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1)]))
    run_silver(settings)
    table(settings, SALES).alter.set_table_properties({CLEANUP: "true"})

    drop(settings, tmp_path, "b.csv", csv_text([line(2)]))
    result = run_silver(settings)

    assert result.accepted == 1
    assert table(settings, SALES).metadata().configuration[CLEANUP] == TABLE_PROPERTIES[CLEANUP]
    assert table(settings, SALES).to_pyarrow_table().num_rows == 2
