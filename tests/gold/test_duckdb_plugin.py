"""The DuckDB instance dbt builds Gold in outlives a build, the Gold file does not: the
delta extension loads once per process, and between builds the file is free for any
other connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import salespipe.gold.duckdb_plugin as plugin
from salespipe.gold import build_gold
from salespipe.gold.extensions import load_extension
from salespipe.gold.runner import duckdb_path

from .conftest import copy_data_dir


def test_the_extension_loads_once_and_the_file_is_free_between_builds(
    silver_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    loads: list[str] = []

    def spy(conn: duckdb.DuckDBPyConnection, name: str, directory: str) -> None:
        loads.append(name)
        load_extension(conn, name, directory)

    monkeypatch.setattr(plugin, "load_extension", spy)

    for _ in range(2):
        result = build_gold(settings)
        assert result.success, result.summary()
        # read-write: refused while any connection in any process holds the file
        con = duckdb.connect(str(duckdb_path(settings)))
        try:
            (facts,) = con.execute("SELECT count(*) FROM gold.fact_sales").fetchone() or (0,)
        finally:
            con.close()
        assert facts > 0

    assert loads == ["delta"]
