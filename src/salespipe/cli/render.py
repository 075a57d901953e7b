"""Results as rich tables for people, JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from salespipe.gold.runner import GoldResult
from salespipe.silver.batch import SilverResult
from salespipe.silver.maintenance import VacuumReport

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def status_tables(status: dict[str, Any]) -> None:
    """Counts and money totals per layer, then quarantine by reason."""
    layers = Table(title="salespipe layers", title_justify="left")
    for column in ("layer", "files", "rows", "sales total", "notes"):
        layers.add_column(column, justify="right" if column != "layer" else "left")
    bronze, silver, quarantine = status["bronze"], status["silver"], status["quarantine"]
    layers.add_row(
        "bronze",
        str(bronze["files"]),
        f"{bronze['rows']:,}",
        bronze["sales_total"],
        f"{bronze['rejected_files']} rejected, {bronze['pending_files']} pending",
    )
    layers.add_row(
        "silver",
        "",
        f"{silver['rows']:,}",
        silver["sales_total"],
        f"version {silver['version']}, {silver['superseded']:,} superseded lines",
    )
    layers.add_row("quarantine", "", f"{quarantine['rows']:,}", quarantine["sales_total"], "")
    gold = status.get("gold") or {}
    if gold.get("fact_rows"):
        dims = ", ".join(f"{name} {rows:,}" for name, rows in gold["dims"].items())
        layers.add_row("gold", "", f"{gold['fact_rows']:,}", gold["sales_total"], dims)
    console.print(layers)
    if quarantine["by_reason"]:
        reasons = Table(title="quarantine by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("lines", justify="right")
        for reason, count in quarantine["by_reason"].items():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)


def silver_summary(result: SilverResult) -> None:
    """One line for a Silver run, and one error line per rejected file."""
    if not result.committed:
        console.print(f"silver: no new Bronze files ({result.seconds:.2f} s)")
        return
    console.print(
        f"silver: {len(result.files)} files, {result.accepted:,} lines accepted,"
        f" {result.quarantined:,} quarantined, {result.inserted:,} inserted,"
        f" {result.updated:,} updated -> version {result.version}"
        f" ({result.seconds:.1f} s)"
    )
    for key, extra in result.extra_columns.items():
        console.print(f"note: {key}: extra columns ignored: {', '.join(extra)}")
    for entry in result.files:
        if entry.error:
            errors.print(f"error: {entry.error}", markup=False, highlight=False, soft_wrap=True)


def vacuum_table(report: VacuumReport) -> None:
    """Files removed per Silver table; on a dry run, the files that would be."""
    title = f"silver vacuum, retention {report.retention_days} days"
    table = Table(title=title + (" (dry run)" if report.dry_run else ""), title_justify="left")
    table.add_column("table")
    for column in ("version", "would remove" if report.dry_run else "removed", "seconds"):
        table.add_column(column, justify="right")
    for t in report.tables:
        version = "no table yet" if t.version is None else str(t.version)
        table.add_row(t.table, version, f"{len(t.files):,}", f"{t.seconds:.2f}")
    console.print(table)


def gold_summary(result: GoldResult) -> None:
    """The dbt build in one line, then one line per failing model or test."""
    head, *failures = result.summary().splitlines()
    console.print(head, highlight=False)
    for line in failures:
        errors.print(f"error: {line.strip()}", markup=False, highlight=False, soft_wrap=True)
