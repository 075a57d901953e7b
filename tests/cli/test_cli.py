"""The command line: the main job, machine-readable status, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from salespipe.cli.app import EXIT_REJECTED, app
from salespipe.settings import Settings
from salespipe.silver.tables import SALES
from tests.support import age_history, correct_a_line, csv_text, line

runner = CliRunner()


def test_run_prints_layers_and_status_json_has_the_documented_shape(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    result = runner.invoke(app, ["run", "--rows", "3000", "--data-dir", data])
    assert result.exit_code == 0, result.output
    assert "silver" in result.output and "quarantine by reason" in result.output

    status = runner.invoke(app, ["status", "--data-dir", data, "--json"])
    figures = json.loads(status.stdout)
    assert set(figures) >= {"bronze", "silver", "quarantine"}
    assert set(figures["bronze"]) >= {"files", "rejected_files", "rows"}
    assert set(figures["silver"]) >= {"rows", "version", "sales_total"}
    assert isinstance(figures["silver"]["sales_total"], str)
    assert figures["bronze"]["rows"] == 3000
    assert sum(figures["quarantine"]["by_reason"].values()) == figures["quarantine"]["rows"]


def test_a_rejected_file_is_one_error_line_and_a_distinct_exit_code(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([line(1)], ["row_id", "order_id"]))
    assert runner.invoke(app, ["ingest", str(bad), "--data-dir", data]).exit_code == 0
    result = runner.invoke(app, ["silver", "--data-dir", data])
    assert result.exit_code == EXIT_REJECTED
    (error,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "bad." in error and "line 1" in error and "missing_columns" in error


def test_a_missing_input_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "salespipe.cli.app",
            "ingest",
            str(tmp_path / "nope.csv"),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"error: {tmp_path / 'nope.csv'}: no such file or directory"
    )


def test_vacuum_prints_a_table_and_json_has_the_documented_shape(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    correct_a_line(settings, tmp_path / "drops")
    age_history(settings, SALES, days=8)
    data = settings.data_dir

    dry = runner.invoke(app, ["vacuum", "--data-dir", data, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert (report["retention_days"], report["dry_run"], report["removed"]) == (7, True, 1)
    sales, quarantine = report["tables"]
    assert set(sales) == {"table", "version", "removed", "files", "seconds"}
    assert (sales["table"], sales["removed"], len(sales["files"])) == ("sales", 1, 1)
    assert (quarantine["table"], quarantine["files"]) == ("sales_quarantine", [])

    table = runner.invoke(app, ["vacuum", "--data-dir", data])
    assert table.exit_code == 0, table.output
    assert "removed" in table.stdout and "sales_quarantine" in table.stdout
    again = runner.invoke(app, ["vacuum", "--data-dir", data, "--json"])
    assert json.loads(again.stdout)["removed"] == 0


def test_vacuum_refuses_a_retention_under_a_day(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vacuum", "--data-dir", str(tmp_path), "--retention-days", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--retention-days'" in result.stderr


def test_operator_crd_and_docs_print_the_committed_files() -> None:
    from salespipe.control.crd import CRD_PATH, DOCS_PATH
    from salespipe.dev.shared import repo_root

    crd = runner.invoke(app, ["operator", "crd"])
    assert crd.exit_code == 0, crd.output
    assert crd.stdout == (repo_root() / CRD_PATH).read_text(encoding="utf-8")
    docs = runner.invoke(app, ["operator", "docs"])
    assert docs.stdout == (repo_root() / DOCS_PATH).read_text(encoding="utf-8")
