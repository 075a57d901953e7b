"""Gold on generated Silver: every dbt test passes and the figures reconcile exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.compute as pc
from deltalake import DeltaTable

from salespipe.gold import GoldResult, gold_status
from salespipe.gold.runner import duckdb_path, project_dir
from salespipe.gold.sources import SOURCES_YML, render_sources_yml
from salespipe.settings import Settings


def _silver_totals(settings: Settings) -> dict[str, Decimal | int]:
    table = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table()
    return {
        "rows": table.num_rows,
        "sales": pc.sum(table["sales"]).as_py(),
        "profit": pc.sum(table["profit"]).as_py(),
        "quantity": pc.sum(table["quantity"]).as_py(),
    }


def test_sources_yaml_is_generated_from_the_contract() -> None:
    committed = (project_dir() / SOURCES_YML).read_text()
    assert committed == render_sources_yml(), "run: python -m salespipe.gold.sources dbt"


def test_every_model_and_dbt_test_passes(built: tuple[Settings, GoldResult]) -> None:
    settings, result = built
    assert result.success, result.summary()
    assert result.failures == ()
    assert result.models_passed == 13
    assert result.tests_passed == _test_nodes(settings)  # generic, unit and singular
    assert result.skipped == 0


def _test_nodes(settings: Settings) -> int:
    """The project's data and unit tests, from the manifest the build wrote."""
    import json

    from salespipe.gold.runner import gold_dir

    manifest = json.loads((gold_dir(settings) / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    return len(tests) + len(manifest["unit_tests"])


def test_gold_reconciles_with_silver_to_the_cent(built: tuple[Settings, GoldResult]) -> None:
    settings, _ = built
    silver = _silver_totals(settings)
    status = gold_status(settings)
    assert status["fact_rows"] == silver["rows"]
    assert Decimal(str(status["sales_total"])) == silver["sales"]
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    profit, quantity, sales_type = con.execute(
        "SELECT sum(profit), sum(quantity), typeof(any_value(sales)) FROM gold.fact_sales"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert (profit, quantity) == (silver["profit"], silver["quantity"])
    assert sales_type == "DECIMAL(18,4)"  # money stays exact, never a float


def test_status_lists_every_dimension(built: tuple[Settings, GoldResult]) -> None:
    settings, _ = built
    dims = gold_status(settings)["dims"]
    assert isinstance(dims, dict)
    assert set(dims) == {"dim_customer", "dim_product", "dim_store", "dim_date"}
    assert all(isinstance(n, int) and n > 0 for n in dims.values())


def test_status_before_any_build_is_zero(tmp_path: Path) -> None:
    status = gold_status(Settings(data_dir=str(tmp_path)))
    assert status == {"fact_rows": 0, "sales_total": "0", "dims": {}}


def test_scd2_dimensions_hold_the_generated_attribute_changes(
    built: tuple[Settings, GoldResult],
) -> None:
    """The generator renames products ("..., Refreshed") and moves stores to a
    "... Metro" region mid-span: both must show up as closed and current versions."""
    settings, _ = built
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    renamed = con.execute(
        """SELECT count(*) FROM gold.dim_product AS cur
           JOIN gold.dim_product AS prev
             ON prev.product_id = cur.product_id AND prev.valid_to = cur.valid_from
           WHERE cur.is_current AND cur.product_name LIKE '%, Refreshed'
             AND NOT prev.is_current AND prev.product_name NOT LIKE '%, Refreshed'"""
    ).fetchone()
    moved = con.execute(
        """SELECT count(DISTINCT store_id) FROM gold.dim_store
           WHERE is_current AND region LIKE '% Metro' AND version_number > 1"""
    ).fetchone()
    pit = con.execute(
        """SELECT count(*) FROM gold.fact_sales f JOIN gold.dim_product p USING (product_key)
           WHERE NOT p.is_current"""
    ).fetchone()
    con.close()
    assert renamed and renamed[0] > 0
    assert moved and moved[0] > 0
    assert pit and pit[0] > 0  # facts before a change keep the old version's key


def test_source_columns_match_the_silver_tables() -> None:
    """The generated dbt sources list exactly the columns Silver writes, in order."""
    import yaml

    from salespipe.silver.tables import QUARANTINE_SCHEMA, SALES_SCHEMA

    doc = yaml.safe_load(render_sources_yml())
    tables = {t["name"]: [c["name"] for c in t["columns"]] for t in doc["sources"][0]["tables"]}
    assert tables["sales"] == SALES_SCHEMA.names
    assert tables["sales_quarantine"] == QUARANTINE_SCHEMA.names
