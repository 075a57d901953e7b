"""Gold: the dbt star schema over Silver (DuckDB embedded, Snowflake in production)."""

from salespipe.gold.runner import (
    GoldError,
    GoldResult,
    NodeOutcome,
    build_gold,
    duckdb_path,
    gold_status,
    project_dir,
    run_dbt,
)

__all__ = [
    "GoldError",
    "GoldResult",
    "NodeOutcome",
    "build_gold",
    "duckdb_path",
    "gold_status",
    "project_dir",
    "run_dbt",
]
