"""A stand-in for the Silver ETL: Silver-shaped Delta tables from generated drops.

Gold's tests must not wait for (or depend on the internals of) the Silver step, so
this writes the Silver contract directly: the canonical columns typed per
``salespipe.contract.arrow``, the lineage columns, one row per line key (latest
event wins), and a quarantine table for lines that fail parsing or the value rules.
It is deliberately simple (DuckDB parses; the first date layout that parses most of
a file is that file's layout) and is not the Silver engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from salespipe.contract.arrow import SQL_TYPES, canonical_fields, raw_fields
from salespipe.contract.rules import DATE_FORMATS, VALUE_RULES, Reason
from salespipe.contract.schema import FIELDS, LINE_KEY, FieldKind, normalize_header

LINEAGE = pa.schema(
    [
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("_source_system", pa.string()),
        pa.field("_source_object", pa.string()),
        pa.field("_source_position", pa.int64()),
        pa.field("_batch_id", pa.string()),
        pa.field("_event_time", pa.timestamp("us", tz="UTC")),
    ]
)
SALES_SCHEMA = pa.schema([*canonical_fields(), *LINEAGE])
QUARANTINE_SCHEMA = pa.schema(
    [
        *raw_fields(),
        pa.field("_reason", pa.string()),
        pa.field("_reasons", pa.list_(pa.string())),
        pa.field("_field", pa.string()),
        pa.field("_value", pa.string()),
        pa.field("_raw_line", pa.string()),
        *LINEAGE,
    ]
)


_INVALID = {
    FieldKind.DATE: Reason.INVALID_DATE,
    FieldKind.INTEGER: Reason.INVALID_NUMBER,
    FieldKind.BIGINT: Reason.INVALID_NUMBER,
    FieldKind.DECIMAL: Reason.INVALID_NUMBER,
    FieldKind.STRING: Reason.UNKNOWN_VALUE,
}


@dataclass(frozen=True)
class SilverCounts:
    sales: int
    quarantine: int


_STRPTIME = {"iso": "%Y-%m-%d", "dmy": "%d-%m-%Y", "mdy": "%m/%d/%Y"}
"""DuckDB strptime patterns of the contract's date formats, for this stand-in only."""


def _typed_expr(name: str, kind: FieldKind, date_fmt: str) -> str:
    raw = f"nullif(trim(\"{name}\"), '')"
    if kind is FieldKind.DATE:
        return f"try_strptime({raw}, '{date_fmt}')::DATE"
    return f"try_cast({raw} AS {SQL_TYPES[kind]})"


def _parse_csv(con: duckdb.DuckDBPyConnection, path: Path, batch_id: str, at: datetime) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv(?, all_varchar=true,"
        " header=true, null_padding=true, strict_mode=false, quote='\"', escape='\"')",
        [str(path)],
    )
    columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
    renames = ", ".join(f'"{c}" AS "{normalize_header(c)}"' for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT {renames} FROM raw")
    best = max(
        DATE_FORMATS,
        key=lambda f: con.execute(
            f"SELECT count(try_strptime(order_date, '{_STRPTIME[f.name]}')) FROM raw"
        ).fetchone()[0],  # type: ignore[index]
    )
    typed = ", ".join(
        f'{_typed_expr(f.name, f.kind, _STRPTIME[best.name])} AS "{f.name}"' for f in FIELDS
    )
    raw = ", ".join(f'"{f.name}"' for f in FIELDS)
    con.execute(
        f"""INSERT INTO parsed SELECT {typed}, {raw},
            TIMESTAMPTZ '{at.isoformat()}', 'batch', '{path.name}', row_number() OVER (),
            '{batch_id}', TIMESTAMPTZ '{at.isoformat()}' + to_microseconds(row_number() OVER ())
            FROM raw"""
    )


def _parse_events(con: duckdb.DuckDBPyConnection, path: Path, batch_id: str, at: datetime) -> None:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # malformed events are the streaming sink's concern, not Gold's
        rows.append((event, number))
    for event, number in rows:
        values = [None if event.get(f.name) is None else str(event[f.name]) for f in FIELDS]
        con.execute(
            f"""INSERT INTO parsed SELECT
                {", ".join(_typed_expr(f.name, f.kind, "%Y-%m-%d") for f in FIELDS)},
                {", ".join(f'"{f.name}"' for f in FIELDS)},
                TIMESTAMPTZ '{at.isoformat()}', 'streaming', '{path.name}', {number},
                '{batch_id}', ?::TIMESTAMPTZ
                FROM (SELECT {", ".join(f"?::VARCHAR AS {f.name}" for f in FIELDS)})""",
            [event["event_time"], *values],
        )


def parse_generated(gen_dir: Path, batch_id: str = "b1") -> tuple[pa.Table, pa.Table]:
    """Silver rows and quarantine rows for the drops (and events) in ``gen_dir``."""
    at = datetime(2025, 6, 1, tzinfo=UTC)
    con = duckdb.connect()
    typed_cols = ", ".join(f'"{f.name}" {SQL_TYPES[f.kind]}' for f in FIELDS)
    raw_cols = ", ".join(f'"raw_{f.name}" VARCHAR' for f in FIELDS)
    con.execute(
        f"""CREATE TEMP TABLE parsed ({typed_cols}, {raw_cols}, _ingested_at TIMESTAMPTZ,
        _source_system VARCHAR, _source_object VARCHAR, _source_position BIGINT,
        _batch_id VARCHAR, _event_time TIMESTAMPTZ)"""
    )
    for path in sorted(gen_dir.glob("*.csv")):
        _parse_csv(con, path, batch_id, at)
    for path in sorted(gen_dir.glob("events/*.jsonl")):
        _parse_events(con, path, batch_id, at)
    checks = [
        f'CASE WHEN "raw_{f.name}" IS NOT NULL AND trim("raw_{f.name}") <> \'\' '
        f"AND \"{f.name}\" IS NULL THEN '{_INVALID[f.kind].value}' END"
        for f in FIELDS
    ]
    checks += [
        f'CASE WHEN "raw_{f.name}" IS NULL OR trim("raw_{f.name}") = \'\' '
        "THEN 'missing_required' END"
        for f in FIELDS
        if f.required
    ]
    checks += [f"CASE WHEN {r.violated} THEN '{r.reason.value}' END" for r in VALUE_RULES]
    con.execute(
        "CREATE TEMP TABLE checked AS SELECT *, "
        f"list_filter([{', '.join(checks)}], x -> x IS NOT NULL)"
        " AS _reasons FROM parsed"
    )
    lineage = (
        "_ingested_at, _source_system, _source_object, _source_position, _batch_id, _event_time"
    )
    key = ", ".join(LINE_KEY)
    sales = con.execute(
        f"""SELECT {", ".join(f'"{f.name}"' for f in FIELDS)}, {lineage} FROM checked
        WHERE len(_reasons) = 0
        QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _event_time DESC) = 1"""
    ).to_arrow_table()
    quarantine = con.execute(
        f"""SELECT {", ".join(f'"raw_{f.name}" AS "{f.name}"' for f in FIELDS)},
        _reasons[1] AS _reason, _reasons, NULL::VARCHAR AS _field, NULL::VARCHAR AS _value,
        NULL::VARCHAR AS _raw_line, {lineage} FROM checked WHERE len(_reasons) > 0"""
    ).to_arrow_table()
    con.close()
    return sales.cast(SALES_SCHEMA), quarantine.cast(QUARANTINE_SCHEMA)


def write_silver(silver_root: Path, sales: pa.Table, quarantine: pa.Table) -> SilverCounts:
    """MERGE ``sales`` into ``<silver>/sales`` by line key (insert or update) and append
    ``quarantine``, as the Silver ETL does; creates the tables on first use."""
    sales_uri = str(silver_root / "sales")
    if DeltaTable.is_deltatable(sales_uri):
        predicate = " AND ".join(f"t.{k} = s.{k}" for k in LINE_KEY)
        (
            DeltaTable(sales_uri)
            .merge(sales, predicate, source_alias="s", target_alias="t")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
    else:
        write_deltalake(sales_uri, sales, mode="overwrite")
    write_deltalake(str(silver_root / "sales_quarantine"), quarantine, mode="append")
    return SilverCounts(sales.num_rows, quarantine.num_rows)
