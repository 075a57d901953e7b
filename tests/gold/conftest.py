"""Shared Gold fixtures: a small generated Silver (with defects) and one Gold build.

A dbt build takes seconds, so the built Gold is shared per module; tests that change
Silver copy the data dir first and never touch the shared one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from salespipe.generate import generate
from salespipe.gold import GoldResult, build_gold
from salespipe.settings import Settings

from .silver_fixture import parse_generated, write_silver

ROWS = 3000


@pytest.fixture(scope="session")
def silver_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose Silver holds ROWS generated lines (5% defects) and events."""
    root = tmp_path_factory.mktemp("silver-src")
    generate(ROWS, seed=11, out_dir=root / "drops", defect_rate=0.05, events=200)
    sales, quarantine = parse_generated(root / "drops")
    data = root / "data"
    write_silver(data / "silver", sales, quarantine)
    return data


def copy_data_dir(src: Path, dst: Path) -> Settings:
    """An independent copy of a data dir (Silver and Gold), for tests that change it."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("extensions", "tmp", "logs"))
    return Settings(data_dir=str(dst), threads=2)


@pytest.fixture(scope="session")
def built(
    silver_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, GoldResult]]:
    """Gold built once on a copy of the shared Silver."""
    settings = copy_data_dir(silver_dir, tmp_path_factory.mktemp("built") / "data")
    yield settings, build_gold(settings)


def merge_into_silver(settings: Settings, rows: list[dict[str, object]]) -> None:
    """Upsert ``rows`` into Silver's sales table on the line key, as a Silver run would."""
    table = DeltaTable(settings.silver.uri("sales"))
    (
        table.merge(
            pa.Table.from_pylist(rows, schema=table.to_pyarrow_dataset().schema),
            "t.order_id = s.order_id AND t.row_id = s.row_id",
            "s",
            "t",
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
