"""Figures per layer, read from the layers themselves (never from a run's memory).

Counts and money totals must reconcile: every Bronze line is in Silver, in
quarantine, or superseded by a later version of its line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from salespipe.bronze.events import streaming_status
from salespipe.bronze.layout import batch_files
from salespipe.contract.arrow import SQL_TYPES
from salespipe.contract.schema import FieldKind
from salespipe.gold.runner import gold_status
from salespipe.settings import Settings
from salespipe.silver.batch import open_table
from salespipe.silver.ledger import read_ledger
from salespipe.silver.tables import QUARANTINE, SALES

CENT = Decimal("0.0001")


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(CENT))


def layer_status(settings: Settings) -> dict[str, Any]:
    """The status figures: the shape ``salespipe status --json`` prints."""
    sales = open_table(settings.silver, SALES)
    quarantine = open_table(settings.silver, QUARANTINE)
    ledger = read_ledger(sales)
    files = list(batch_files(settings.bronze))
    merged = [e for e in ledger.files.values() if e.status == "merged"]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    silver_rows, silver_total = 0, Decimal(0)
    if sales is not None:
        dataset = sales.to_pyarrow_dataset()  # through the Delta log, never the folder
        con.register("sales", dataset)
        row = con.execute("SELECT count(*), sum(sales) FROM sales").fetchone()
        if row:
            silver_rows, silver_total = int(row[0]), row[1] or Decimal(0)
    by_reason: dict[str, int] = {}
    quarantine_total = Decimal(0)
    if quarantine is not None:
        con.register("quarantine", quarantine.to_pyarrow_dataset())
        by_reason = dict(
            con.execute(
                "SELECT _reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        money = SQL_TYPES[FieldKind.DECIMAL]
        row = con.execute(f"SELECT sum(TRY_CAST(sales AS {money})) FROM quarantine").fetchone()
        quarantine_total = row[0] if row and row[0] is not None else Decimal(0)
    con.close()
    bronze_rows = sum(e.lines for e in merged)
    quarantine_rows = sum(by_reason.values())
    return {
        "bronze": {
            "files": len(files),  # CSV drops; event files are under "streaming"
            "pending_files": sum(1 for f in files if f.key not in ledger.files),
            "rejected_files": len(ledger.rejected),
            "rows": bronze_rows,
            "sales_total": _money(sum((Decimal(e.sales) for e in merged), Decimal(0))),
        },
        "silver": {
            "rows": silver_rows,
            "version": sales.version() if sales is not None else None,
            "sales_total": _money(silver_total),
            "superseded": bronze_rows - silver_rows - quarantine_rows,
        },
        "quarantine": {
            "rows": quarantine_rows,
            "by_reason": by_reason,
            "sales_total": _money(quarantine_total),
        },
        "gold": gold_status(settings),
        "streaming": streaming_status(settings.bronze, settings.topic),
    }
