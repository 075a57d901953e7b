"""The few SQL spellings in which engines differ; everything else in the plan is shared.

The Silver plan is written in the SQL that DuckDB and Spark SQL read alike (CASE,
TRY_CAST, LIKE, substr, comparisons). Where they differ, the plan asks the dialect;
the Spark engine (a later issue) adds its own, e.g. `filter(array(...), x -> ...)`.
"""

from __future__ import annotations

from typing import Protocol


def quote_literal(text: str) -> str:
    """A SQL string literal; both engines double single quotes."""
    return "'" + text.replace("'", "''") + "'"


class Dialect(Protocol):
    """How one engine spells the non-portable parts of the Silver plan."""

    name: str

    def non_null_list(self, items: list[str]) -> str:
        """An array of the non-NULL values among ``items``, in order."""
        ...


class DuckDBDialect:
    """DuckDB 1.5."""

    name = "duckdb"

    def non_null_list(self, items: list[str]) -> str:
        return f"list_filter([{', '.join(items)}], x -> x IS NOT NULL)"


DUCKDB = DuckDBDialect()
