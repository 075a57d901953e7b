"""The DuckDB instance dbt builds Gold in outlives a build, the Gold file does not: the
delta extension loads once per process, and between builds the file is free for any
other connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.credentials import Attachment

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
    attaches: list[str] = []
    to_sql = Attachment.to_sql

    def spy_attach(self: Attachment) -> str:
        attaches.append(self.path)
        return to_sql(self)

    monkeypatch.setattr(Attachment, "to_sql", spy_attach)

    for _ in range(2):
        attaches.clear()
        result = build_gold(settings)
        assert result.success, result.summary()
        # attached again after the last build's detach, by the first cursors only (at
        # most one per thread), not by each of the build's fifty-odd cursors
        assert 1 <= len(attaches) <= settings.threads, attaches
        # read-write: refused while any connection in any process holds the file
        con = duckdb.connect(str(duckdb_path(settings)))
        try:
            (facts,) = con.execute("SELECT count(*) FROM gold.fact_sales").fetchone() or (0,)
        finally:
            con.close()
        assert facts > 0

    assert loads == ["delta"]
