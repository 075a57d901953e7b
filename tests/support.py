"""Helpers that build Bronze input line by line and read Silver back, for specs that
say "this line ends up there, for this reason"."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml
from deltalake import DeltaTable

from salespipe.bronze.ingest import land
from salespipe.contract.schema import field_names, normalize_header
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from salespipe.silver.tables import QUARANTINE, SALES

GOOD: dict[str, str] = {
    "row_id": "1",
    "order_id": "US-2024-100001",
    "order_date": "2024-03-05",
    "ship_date": "2024-03-08",
    "ship_mode": "Second Class",
    "customer_id": "CG-12520",
    "customer_name": "Claire Gute",
    "segment": "Consumer",
    "city": "Boston",
    "state": "Massachusetts",
    "country": "United States",
    "postal_code": "02134",
    "market": "US",
    "region": "East",
    "product_id": "FUR-CH-10000454",
    "category": "Furniture",
    "sub_category": "Chairs",
    "product_name": 'Hon 4070 Series Chair, 24" Wide, "Gray"',
    "sales": "731.9400",
    "quantity": "3",
    "discount": "0.2",
    "profit": "-21.96",
    "shipping_cost": "40.77",
    "order_priority": "High",
}


def line(number: int, **overrides: str) -> dict[str, str]:
    """A valid line with row_id ``number`` and the given fields changed."""
    return {**GOOD, "row_id": str(number), **overrides}


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """CSV under ``header`` (canonical names by default; any spelling that normalizes
    to a canonical name picks that field), quoting as exporters do."""
    columns = header or field_names()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(normalize_header(c), "") for c in columns])
    return out.getvalue()


def drop(
    settings: Settings, folder: Path, name: str, text: str, when: datetime | None = None
) -> str:
    """Write ``text`` as a CSV drop and land it in Bronze; returns its Bronze key."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return land(settings.bronze, path, now=when or datetime.now(UTC)).key


def table(settings: Settings, name: str) -> DeltaTable:
    store = settings.silver
    return DeltaTable(store.uri(name), storage_options=store.delta_options())


def rows(settings: Settings, name: str, order: str = "order_id, row_id") -> list[dict[str, Any]]:
    """Every row of a Silver table, read through the Delta log."""
    con = duckdb.connect()
    con.register("t", table(settings, name).to_pyarrow_dataset())
    cursor = con.execute(f"SELECT * FROM t ORDER BY {order}")
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]


def sales(settings: Settings) -> list[dict[str, Any]]:
    return rows(settings, SALES)


def quarantine(settings: Settings) -> list[dict[str, Any]]:
    return rows(settings, QUARANTINE, "_source_object, _source_position")


def crd_schema(path: Path, version: str = "v1") -> dict[str, Any]:
    """The ``openAPIV3Schema`` that ``path``'s CRD serves for ``version``."""
    crd = yaml.safe_load(path.read_text())
    served = {v["name"]: v for v in crd["spec"]["versions"] if v["served"]}
    assert version in served, f"{path.name} does not serve {version}"
    schema: dict[str, Any] = served[version]["schema"]["openAPIV3Schema"]
    return schema


def age_history(settings: Settings, name: str, days: float) -> int:
    """Make every file removal in table ``name``'s log ``days`` older, as if its
    commits had happened that long ago (VACUUM times a removed file by its log entry,
    not by the file); returns the removals aged."""
    store = settings.silver.child(f"{name}/_delta_log")
    shift = int(days * 86_400_000)
    aged = 0
    for info in store.list(""):
        if not info.key.endswith(".json"):
            continue
        actions = [json.loads(a) for a in store.read_bytes(info.key).decode().splitlines() if a]
        removals = [a["remove"] for a in actions if "remove" in a]
        for removal in removals:
            removal["deletionTimestamp"] -= shift
        if removals:
            store.write_bytes(info.key, "".join(json.dumps(a) + "\n" for a in actions).encode())
        aged += len(removals)
    return aged


def correct_a_line(settings: Settings, folder: Path) -> None:
    """Two Silver runs; the second corrects a line the first wrote, so its MERGE
    rewrites that line's file and the first file is no longer referenced."""
    first = [line(1, sales="10.00"), line(2), line(3, quantity="0")]
    drop(settings, folder, "first.csv", csv_text(first))
    run_silver(settings)
    drop(settings, folder / "fix", "fix.csv", csv_text([line(1, sales="12.50"), line(4)]))
    assert run_silver(settings).updated == 1
