"""Silver batch benchmark: rows/s and peak RSS against a one-query DuckDB reference,
the cost of a 1% incremental run, and the no-new-files run.

    python -m bench.silver --sizes 1000000,10000000

Data: the generator writes a 1M-line base once (cached under bench/.cache); larger
sizes are that base replicated with distinct order ids, so every size has the same
mix of defects, header styles and date formats per file.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from bench.measure import measured
from salespipe.generate import generate
from salespipe.pipeline.run import ingest
from salespipe.settings import Settings

CACHE = Path(__file__).parent / ".cache"
RESULTS = Path(__file__).parent / "results"
BASE_ROWS = 1_000_000
console = Console(width=160)


def _base(rows: int) -> list[Path]:
    folder = CACHE / f"base-{rows}"
    if not (folder / "manifest.json").exists():
        generate(rows, 1, folder, defect_rate=0.02, files=max(1, rows // 200_000))
    return sorted(folder.glob("sales_*.csv"))


def _replicate(files: list[Path], copies: int, folder: Path, tag: str) -> list[Path]:
    """``copies`` copies of ``files`` whose order ids get a suffix: new lines, same mix."""
    if (folder / "done").exists():
        return sorted(folder.glob("*.csv"))
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    out = []
    for copy in range(copies):
        for source in files:
            target = folder / f"{tag}{copy:02d}_{source.name}"
            header = source.open(encoding="utf-8").readline().strip().split(",")
            order = next(h for h in header if h in ("Order ID", "order_id"))
            con.execute(
                f'COPY (SELECT * REPLACE ("{order}" || \'-{tag}{copy}\' AS "{order}")'
                f" FROM read_csv('{source}', all_varchar=true, header=true,"
                f" ignore_errors=true)) TO '{target}' (HEADER, DELIMITER ',')"
            )
            out.append(target)
    (folder / "done").write_text("")
    return out


def _dataset(size: int) -> list[Path]:
    if size <= BASE_ROWS:
        return _base(size)
    return _replicate(_base(BASE_ROWS), size // BASE_ROWS, CACHE / f"x{size}", "r")


def bench_size(size: int, work: Path) -> dict[str, Any]:
    files = _dataset(size)
    lines = sum(1 for f in files for _ in f.open(encoding="utf-8")) - len(files)
    data = work / f"silver-{size}"
    shutil.rmtree(data, ignore_errors=True)
    settings = Settings(data_dir=str(data))
    ingest(settings, files)
    full = measured("silver", str(data))
    again = measured("silver", str(data))
    reference = measured(
        "reference", json.dumps([str(f) for f in files]), str(work / f"reference-{size}.parquet")
    )
    figures: dict[str, Any] = {
        "size": size,
        "lines": lines,
        "silver_seconds": full["seconds"],
        "silver_rows_per_s": lines / full["seconds"],
        "silver_peak_rss_mb": full["peak_rss_mb"],
        "reference_seconds": reference["seconds"],
        "reference_rows_per_s": lines / reference["seconds"],
        "reference_peak_rss_mb": reference["peak_rss_mb"],
        "no_new_files_seconds": again["seconds"],
    }
    figures["ratio"] = figures["silver_rows_per_s"] / figures["reference_rows_per_s"]
    if size == BASE_ROWS:
        extra = _replicate(_base(BASE_ROWS // 100), 1, CACHE / "incremental-1pct", "i")
        ingest(settings, extra)
        incremental = measured("silver", str(data))
        figures["incremental_seconds"] = incremental["seconds"]
        figures["incremental_fraction"] = incremental["seconds"] / full["seconds"]
    shutil.rmtree(data, ignore_errors=True)
    return figures


def report(results: list[dict[str, Any]]) -> None:
    table = Table(title="Silver batch (embedded: DuckDB + delta-rs)", title_justify="left")
    for column in (
        "lines",
        "silver rows/s",
        "silver peak RSS",
        "reference rows/s",
        "ratio",
        "reference RSS",
        "no-new-files run",
        "incremental 1%",
    ):
        table.add_column(column, justify="right")
    for r in results:
        inc = (
            f"{r['incremental_seconds']:.2f} s ({r['incremental_fraction']:.1%})"
            if "incremental_seconds" in r
            else "-"
        )
        table.add_row(
            f"{r['lines']:,}",
            f"{r['silver_rows_per_s']:,.0f}",
            f"{r['silver_peak_rss_mb']:,.0f} MB",
            f"{r['reference_rows_per_s']:,.0f}",
            f"{r['ratio']:.0%}",
            f"{r['reference_peak_rss_mb']:,.0f} MB",
            f"{r['no_new_files_seconds']:.2f} s",
            inc,
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--work", default=str(CACHE / "work"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = [bench_size(int(s), work) for s in args.sizes.split(",")]
    report(results)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"silver-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
