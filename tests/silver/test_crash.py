"""A crash at any point leaves the last committed Silver readable, and the next run
converges to what one clean run gives."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from salespipe.generate import generate
from salespipe.pipeline.run import ingest
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver import batch
from salespipe.silver.batch import run_silver
from tests.support import GOOD, csv_text, drop, line, quarantine, sales

LINEAGE_OF_A_RUN = ("_ingested_at", "_batch_id")


def _content(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows without the columns that name the run that wrote them."""
    return sorted(tuple(repr(v) for k, v in r.items() if k not in LINEAGE_OF_A_RUN) for r in rows)


def test_a_crash_between_the_sales_and_quarantine_commits_is_repaired(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1), line(2, quantity="0")]))
    real_write = batch.write_deltalake

    def crash_on_quarantine(uri: str, *args: Any, **kwargs: Any) -> None:
        if uri.endswith("sales_quarantine"):
            raise KeyboardInterrupt("killed")
        real_write(uri, *args, **kwargs)

    monkeypatch.setattr(batch, "write_deltalake", crash_on_quarantine)
    with pytest.raises(KeyboardInterrupt):
        run_silver(settings)
    monkeypatch.setattr(batch, "write_deltalake", real_write)
    assert len(sales(settings)) == 1  # sales committed, quarantine not

    repaired = run_silver(settings)

    assert [r["row_id"] for r in quarantine(settings)] == ["2"]
    assert len(sales(settings)) == 1
    assert repaired.files == []  # nothing new taken in, only the quarantine repaired
    assert run_silver(settings).committed is False


def test_a_crash_between_the_merge_of_known_lines_and_the_append_converges(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(settings, tmp_path, "a.csv", csv_text([line(1, sales="10.00")]))
    run_silver(settings)
    drop(settings, tmp_path / "2", "fix.csv", csv_text([line(1, sales="12.50"), line(2)]))

    def crash_on_append(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(DeltaTable, "create_write_transaction", crash_on_append)
        with pytest.raises(KeyboardInterrupt):
            run_silver(settings)
    # The correction of the known line is committed; the new line and the ledger not.
    assert [(r["row_id"], r["sales"]) for r in sales(settings)] == [(1, Decimal("12.5000"))]

    rerun = run_silver(settings)

    assert [f.key.rsplit("/", 1)[-1].split(".")[0] for f in rerun.files] == ["fix"]
    assert (rerun.inserted, rerun.updated) == (1, 0)  # nothing newer left to merge
    assert [(r["row_id"], r["sales"]) for r in sales(settings)] == [
        (1, Decimal("12.5000")),
        (2, Decimal(GOOD["sales"]).quantize(Decimal("0.0001"))),
    ]
    assert run_silver(settings).committed is False


def test_killing_silver_mid_write_then_rerunning_equals_a_clean_run(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    generate(30_000, 5, samples, defect_rate=0.05, files=3)
    crashed = Settings(data_dir=str(tmp_path / "crashed"), scratch_dir=str(tmp_path))
    clean = Settings(data_dir=str(tmp_path / "clean"), scratch_dir=str(tmp_path))
    ingest(crashed, [samples])
    shutil.copytree(crashed.bronze.root, clean.bronze.root)  # same objects, same mtimes
    run_silver(clean)

    command = [sys.executable, "-m", "salespipe.cli.app", "silver", "--data-dir", crashed.data_dir]
    for delay in (0.6, 1.2, 1.8):
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        layer_status(crashed)  # whatever was committed is readable
    subprocess.run(command, check=False, capture_output=True)

    assert _content(sales(crashed)) == _content(sales(clean))
    assert _content(quarantine(crashed)) == _content(quarantine(clean))
    assert (
        layer_status(crashed)["silver"]["superseded"] == layer_status(clean)["silver"]["superseded"]
    )
