"""Nothing lost, nothing doubled: every Bronze line is in Silver, in quarantine, or
superseded by a later version of its line, and the money adds up to the cent."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salespipe.contract.schema import normalize_header
from salespipe.pipeline.run import RunReport, run_all
from salespipe.settings import Settings
from tests.support import quarantine, sales


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, RunReport]:
    tmp = tmp_path_factory.mktemp("reconcile")
    settings = Settings(data_dir=str(tmp / "data"), scratch_dir=str(tmp))
    return settings, run_all(settings, rows=40_000, seed=11, defect_rate=0.05)


def _bronze_lines(settings: Settings) -> list[dict[str, Any]]:
    """Every Bronze record read independently with Python's csv module."""
    out = []
    for info in settings.bronze.list("sales_data"):
        path = Path(settings.bronze.uri(info.key))
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [normalize_header(h) for h in next(reader)]
            for number, values in enumerate(reader, start=2):
                row = dict(zip(header, values, strict=False))
                row.update(_object=info.key, _line=number, _mtime=info.mtime)
                out.append(row)
    return out


def test_every_bronze_line_is_in_silver_quarantine_or_superseded(
    run: tuple[Settings, RunReport],
) -> None:
    _, report = run
    status = report.status
    assert status["bronze"]["rows"] == report.generation.lines
    injected = report.generation.defects
    assert status["silver"]["superseded"] == injected["duplicate"] + injected["correction"]
    assert (
        status["silver"]["rows"] + status["quarantine"]["rows"] + status["silver"]["superseded"]
        == status["bronze"]["rows"]
    )


def test_quarantine_holds_exactly_the_injected_defects(run: tuple[Settings, RunReport]) -> None:
    _, report = run
    injected = report.generation.defects
    by_reason = report.status["quarantine"]["by_reason"]
    assert by_reason == {
        "malformed_line": injected["malformed_line"],
        "missing_required": injected["missing_required"],
        "invalid_date": injected["invalid_date"],
        "ambiguous_date": injected["ambiguous_date"],
        "non_positive_quantity": injected["negative_quantity"],
        "discount_out_of_range": injected["discount_over_one"],
    }


def test_silver_total_is_the_latest_accepted_version_of_each_line_to_the_cent(
    run: tuple[Settings, RunReport],
) -> None:
    settings, report = run
    rejected = {(r["_source_object"], r["_source_position"]) for r in quarantine(settings)}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _bronze_lines(settings):
        if (row["_object"], row["_line"]) in rejected:
            continue
        key = (row["order_id"], row["row_id"])
        rank = (row["_mtime"], row["_object"], row["_line"])
        if key not in latest or rank > latest[key]["_rank"]:
            latest[key] = {**row, "_rank": rank}
    expected = sum((Decimal(r["sales"]) for r in latest.values()), Decimal(0))
    silver = sales(settings)
    assert len(silver) == len(latest)
    assert sum((r["sales"] for r in silver), Decimal(0)) == expected
    assert report.status["silver"]["sales_total"] == str(expected.quantize(Decimal("0.0001")))


def test_duplicates_and_corrections_never_double_a_line(run: tuple[Settings, RunReport]) -> None:
    settings, _ = run
    keys = Counter((r["order_id"], r["row_id"]) for r in sales(settings))
    assert max(keys.values()) == 1
