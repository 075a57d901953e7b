"""The project's own DuckDB table and view materializations (macros/materializations.sql):
one CREATE OR REPLACE, and a model that changes kind replaces the other relation."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from salespipe.gold import GoldResult, build_gold
from salespipe.gold.runner import DBT_PROJECT_ENV, duckdb_path, project_dir
from salespipe.settings import Settings

from .conftest import copy_data_dir

MODEL = Path("models/intermediate/int_sales_unified.sql")
AS_VIEW = "{{ config(materialized='view') }}"


def _project(source: Path, root: Path, kind: str) -> Path:
    """A copy of the dbt project in which int_sales_unified is materialized as `kind`."""
    copy = root / f"dbt-{kind}"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("target", "logs"))
    sql = (copy / MODEL).read_text()
    assert AS_VIEW in sql
    (copy / MODEL).write_text(sql.replace(AS_VIEW, f"{{{{ config(materialized='{kind}') }}}}"))
    return copy


def _kind(settings: Settings) -> list[tuple[str, ...]]:
    con = duckdb.connect(str(duckdb_path(settings)), read_only=True)
    try:
        return con.execute(
            "SELECT table_type FROM information_schema.tables"
            " WHERE table_schema = 'staging' AND table_name = 'int_sales_unified'"
        ).fetchall()
    finally:
        con.close()


def test_a_model_that_changes_kind_replaces_the_other_relation(
    built: tuple[Settings, GoldResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_data_dir(Path(built[0].data_dir), tmp_path / "data")
    assert _kind(settings) == [("VIEW",)]
    source = project_dir()
    for kind, table_type in (("table", "BASE TABLE"), ("view", "VIEW")):
        monkeypatch.setenv(DBT_PROJECT_ENV, str(_project(source, tmp_path, kind)))
        result = build_gold(settings, select=["int_sales_unified"])
        assert result.success, result.summary()
        assert _kind(settings) == [(table_type,)]
