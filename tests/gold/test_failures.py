"""A failing dbt test fails the build and is reported by name with its row count."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from salespipe.gold import GoldError, build_gold, run_dbt
from salespipe.settings import Settings

from .conftest import copy_data_dir, merge_into_silver


def test_a_broken_business_rule_names_the_test_and_rows(silver_dir: Path, tmp_path: Path) -> None:
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    bad = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table().slice(0, 2).to_pylist()
    for row in bad:
        row["quantity"] = 0  # Silver should have quarantined these
    merge_into_silver(settings, bad)

    result = build_gold(settings)

    assert not result.success
    failed = {f.name: f.failing_rows for f in result.failures}
    assert failed == {"test_business_logic_validation": 2}
    assert "test_business_logic_validation (2 failing rows)" in result.summary()

    # nothing new in Silver: the next (incremental) build still tests every row,
    # because the last one failed, so the defect is reported again, not forgotten
    again = build_gold(settings)
    assert {f.name: f.failing_rows for f in again.failures} == failed


def test_a_defect_in_new_silver_lines_fails_the_incremental_build(
    silver_dir: Path, tmp_path: Path
) -> None:
    """Incremental builds test the lines new since the last build: a defect among
    them fails the build, naming the test and its failing values."""
    settings = copy_data_dir(silver_dir, tmp_path / "data")
    assert build_gold(settings).success
    new = DeltaTable(settings.silver.uri("sales")).to_pyarrow_table().slice(0, 3).to_pylist()
    for n, row in enumerate(new):
        row["order_id"], row["_batch_id"] = f"NEW-{n}", "later-run"
    new[1]["segment"], new[2]["segment"] = "Retail", "Wholesale"  # not in the contract
    merge_into_silver(settings, new)

    result = build_gold(settings)

    failed = {f.name: f.failing_rows for f in result.failures}
    assert failed == {
        "source_accepted_values_silver_sales_segment__Consumer__Corporate__Home_Office": 2
    }
    assert result.skipped > 0  # nothing downstream of a failed source test is built


def test_dbt_itself_failing_raises(tmp_path: Path) -> None:
    """No Silver at all is not a failed test but a failed run: an exception."""
    with pytest.raises(GoldError):
        run_dbt(
            "run",
            Settings(data_dir=str(tmp_path)),
            extra=["--select", "nonexistent+"],
            target="no_such_target",
        )
