"""Embedded Gold over Silver on S3 (a real SeaweedFS enforcing credentials): DuckDB
reads the Delta tables through httpfs with a secret built from the AWS settings, the
star schema equals the one built from the same data on a local disk, and the secret
key is written nowhere: not to dbt's logs, not to target/, not to an error."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from salespipe.dev.s3 import SeaweedS3
from salespipe.gold import GoldError, build_gold, gold_status
from salespipe.gold.runner import duckdb_path, gold_dir
from salespipe.pipeline.run import run_all
from salespipe.settings import Settings

ROWS, SEED = 1500, 21
FACT = """SELECT sales_key, order_id, row_id, order_date_key, ship_date_key, customer_key,
                 product_key, store_key, quantity, sales, discount, profit, shipping_cost
          FROM gold.fact_sales"""
DIM_CUSTOMER = """SELECT customer_key, customer_id, customer_name, segment, first_order_date,
                         last_order_date FROM gold.dim_customer"""
"""Fact and customer columns that do not depend on when or where the data was landed
(the lineage columns do)."""


def _star(settings: Settings) -> dict[str, set[tuple[object, ...]]]:
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    try:
        return {
            "fact_sales": set(con.execute(FACT).fetchall()),
            "dim_product": set(con.execute("SELECT * FROM gold.dim_product").fetchall()),
            "dim_store": set(con.execute("SELECT * FROM gold.dim_store").fetchall()),
            "dim_customer": set(con.execute(DIM_CUSTOMER).fetchall()),
            "dim_date": set(con.execute("SELECT * FROM gold.dim_date").fetchall()),
        }
    finally:
        con.close()


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and needle.encode() in p.read_bytes() and "extensions" not in p.parts
    ]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("local") / "data"), threads=2)
    report = run_all(settings, rows=ROWS, seed=SEED, defect_rate=0.05)
    assert report.gold is not None and report.gold.success, report.gold
    return settings


def test_gold_over_s3_silver_equals_the_local_run(
    s3_settings: Settings, s3_env: SeaweedS3, local_run: Settings
) -> None:
    report = run_all(s3_settings, rows=ROWS, seed=SEED, defect_rate=0.05)

    assert report.gold is not None
    assert report.gold.success, report.gold.summary()
    assert gold_status(s3_settings) == gold_status(local_run)
    assert _star(s3_settings) == _star(local_run)
    again = build_gold(s3_settings)  # incremental: the MERGE reads S3 Silver too
    assert again.success, again.summary()
    assert _star(s3_settings) == _star(local_run)
    assert _files_containing(gold_dir(s3_settings), s3_env.secret_key) == []


def test_wrong_credentials_fail_without_leaking_the_secret(
    s3_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all(s3_settings, rows=200, seed=SEED, defect_rate=0.0)
    wrong = "not-the-secret-" + "x" * 24
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)

    # the build's first read of Silver (the runs Gold has not taken, at on-run-start)
    # is refused: dbt cannot run at all, and says why without the key
    with pytest.raises(GoldError, match="403 Forbidden") as refused:
        build_gold(s3_settings)

    assert wrong not in str(refused.value)
    assert _files_containing(gold_dir(s3_settings), wrong) == []
