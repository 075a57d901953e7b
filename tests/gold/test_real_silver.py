"""Gold on the real Silver step (generate -> Bronze -> Silver ETL -> Gold): every dbt
test passes on data with defects, and Gold's figures equal Silver's to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from salespipe.gold import build_gold, gold_status
from salespipe.pipeline.run import run_all
from salespipe.settings import Settings


def test_gold_on_the_silver_etl_reconciles(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"), threads=2)
    report = run_all(settings, rows=4000, seed=3, defect_rate=0.05)
    silver = report.status["silver"]
    assert silver["rows"] > 0 and report.status["quarantine"]["rows"] > 0

    result = build_gold(settings)

    assert result.success, result.summary()
    status = gold_status(settings)
    assert status["fact_rows"] == silver["rows"]
    assert Decimal(str(status["sales_total"])) == Decimal(silver["sales_total"])
