"""Nodes whose outcome depends on the code alone (unit tests, views, ``code_only``
tests) run when the code or vars change, and are left out of builds on unchanged code,
without making those builds partial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from salespipe.gold import build_gold
from salespipe.gold.runner import duckdb_path, gold_dir
from salespipe.settings import Settings

from .conftest import copy_data_dir

VIEWS = {"stg_sales_silver", "stg_customers_from_sales", "stg_products_from_sales"}
VIEW_TESTS = {"not_null_columns_stg_sales_silver"}
CODE_ONLY_TESTS = {"accepted_values_fact_sales_source_system__batch__streaming"}


def _ran(settings: Settings) -> set[str]:
    """Names of the nodes the last build ran (dbt's run_results.json)."""
    results = json.loads((gold_dir(settings) / "target" / "run_results.json").read_text())
    return {r["unique_id"].split(".")[2] for r in results["results"]}


def _last_build_was_whole(settings: Settings) -> bool:
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    try:
        row = con.execute(
            "SELECT whole_project FROM gold.build_ledger ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return bool(row[0])


def test_code_only_nodes_run_once_per_code_and_vars(silver_dir: Path, tmp_path: Path) -> None:
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    first = build_gold(settings)
    assert first.success and first.left_out == (), first.summary()
    assert _ran(settings) >= VIEWS | VIEW_TESTS | CODE_ONLY_TESTS

    # unchanged code and vars: views, unit tests and code_only tests are left out, the
    # views' own tests (Silver's lines, which is data) still run, and the build is whole
    second = build_gold(settings)
    assert second.success and "views" in second.left_out, second.summary()
    ran = _ran(settings)
    assert not (VIEWS | CODE_ONLY_TESTS) & ran
    assert not any(name.startswith("product_scd2_") for name in ran)  # unit tests
    assert ran >= VIEW_TESTS
    assert _last_build_was_whole(settings)

    # a view gone from the file: the views are built again
    con = duckdb.connect(str(duckdb_path(settings)))
    con.execute("DROP VIEW staging.stg_products_from_sales")
    con.close()
    third = build_gold(settings)
    assert third.success and third.left_out == ("unit tests",), third.summary()
    assert _ran(settings) >= VIEWS

    # the data dir moved: the vars (Silver's path, which views embed) changed
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "data", moved)
    settings = Settings(data_dir=str(moved), threads=2)
    fourth = build_gold(settings)
    assert fourth.success and fourth.left_out == (), fourth.summary()
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    (sql,) = con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 'stg_sales_silver'"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert str(moved / "silver") in sql
