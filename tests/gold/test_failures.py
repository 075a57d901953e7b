"""A failing dbt test fails the build and is reported by name with its row count."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from salespipe.gold import GoldError, build_gold, run_dbt
from salespipe.settings import Settings

from .conftest import copy_data_dir


def test_a_broken_business_rule_names_the_test_and_rows(silver_dir: Path, tmp_path: Path) -> None:
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    uri = settings.silver.uri("sales")
    table = DeltaTable(uri).to_pyarrow_table()
    bad = table.slice(0, 2).to_pylist()
    for row in bad:
        row["quantity"] = 0  # Silver should have quarantined these
    DeltaTable(uri).merge(
        pa.Table.from_pylist(bad, schema=table.schema),
        "t.order_id = s.order_id AND t.row_id = s.row_id",
        "s",
        "t",
    ).when_matched_update_all().execute()

    result = build_gold(settings)

    assert not result.success
    failed = {f.name: f.failing_rows for f in result.failures}
    assert failed == {"test_business_logic_validation": 2}
    assert "test_business_logic_validation (2 failing rows)" in result.summary()


def test_dbt_itself_failing_raises(tmp_path: Path) -> None:
    """No Silver at all is not a failed test but a failed run: an exception."""
    with pytest.raises(GoldError):
        run_dbt(
            "run",
            Settings(data_dir=str(tmp_path)),
            extra=["--select", "nonexistent+"],
            target="no_such_target",
        )
