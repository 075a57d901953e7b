"""The Snowflake target parses from an environment-only profile (no credentials in
files), with the production configuration the issue asks for on the marts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salespipe.gold import GoldError, duckdb_path, gold_status, project_dir, run_dbt
from salespipe.settings import Settings

SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "acme-xy12345",
    "SNOWFLAKE_USER": "SVC_DBT",
    "SNOWFLAKE_ROLE": "TRANSFORMER",
    "SNOWFLAKE_WAREHOUSE": "TRANSFORMING",
    "SNOWFLAKE_DATABASE": "SALES",
    "SNOWFLAKE_PRIVATE_KEY_PATH": "/run/secrets/snowflake_key.p8",
    "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "not-a-real-passphrase",
    "SALESPIPE_SILVER_DATABASE": "LAKE",
}


def _parse(tmp_path: Path) -> Any:
    settings = Settings(data_dir=str(tmp_path))
    return run_dbt("parse", settings, target="snowflake", reuse_manifest=False).result


def test_snowflake_target_parses_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SNOWFLAKE_ENV.items():
        monkeypatch.setenv(name, value)
    manifest = _parse(tmp_path)
    fact = manifest.nodes["model.salespipe.fact_sales"]
    assert fact.config.materialized == "incremental"
    assert fact.config.incremental_strategy == "merge"
    assert fact.config.unique_key == ["order_id", "row_id"]
    assert fact.config.get("cluster_by") == ["order_date", "customer_key"]
    assert fact.database == "SALES" and fact.schema == "gold"
    source = manifest.sources["source.salespipe.silver.sales"]
    assert (source.database, source.schema, source.identifier) == ("LAKE", "silver", "sales")
    # the passphrase is a DBT_ENV_SECRET_ variable: dbt scrubs it from its logs
    log = (tmp_path / "gold" / "logs" / "dbt.log").read_text()
    assert SNOWFLAKE_ENV["DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] not in log


def test_profiles_file_holds_no_credentials() -> None:
    text = (project_dir() / "profiles.yml").read_text()
    snowflake = text[text.index("    snowflake:") :]
    for key in ("account", "user", "role", "warehouse", "database", "private_key_path"):
        line = next(ln for ln in snowflake.splitlines() if ln.strip().startswith(f"{key}:"))
        assert "env_var(" in line, line
    assert "private_key_passphrase: \"{{ env_var('DBT_ENV_SECRET_" in snowflake
    assert "password" not in snowflake


def test_snowflake_target_without_environment_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SNOWFLAKE_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(GoldError, match="SNOWFLAKE_"):
        _parse(tmp_path)


def test_the_pipelines_database_and_schema_place_the_marts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spec.gold.database/schema (salespipe gold --database/--schema) win over the
    environment's database; the build ledger lives beside the marts."""
    for name, value in SNOWFLAKE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        data_dir=str(tmp_path),
        gold_target="snowflake",
        gold_database="EMEA",
        gold_schema="EMEA_GOLD",
    )
    manifest = run_dbt("parse", settings, reuse_manifest=False).result
    fact = manifest.nodes["model.salespipe.fact_sales"]
    assert (fact.database, fact.schema) == ("EMEA", "EMEA_GOLD")
    assert gold_status(settings) == {"fact_rows": 0, "sales_total": "0", "dims": {}}


def test_on_duckdb_the_database_names_the_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), gold_database="analytics", gold_schema="marts")
    manifest = run_dbt("parse", settings, reuse_manifest=False).result
    assert manifest.nodes["model.salespipe.dim_date"].schema == "marts"
    assert duckdb_path(settings) == tmp_path / "gold" / "analytics.duckdb"
