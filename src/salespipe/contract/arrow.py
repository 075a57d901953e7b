"""Arrow types of the canonical fields, derived from the contract."""

from __future__ import annotations

import pyarrow as pa

from salespipe.contract.schema import DECIMAL_PRECISION, DECIMAL_SCALE, FIELDS, FieldKind

_ARROW_TYPES: dict[FieldKind, pa.DataType] = {
    FieldKind.STRING: pa.string(),
    FieldKind.INTEGER: pa.int32(),
    FieldKind.BIGINT: pa.int64(),
    FieldKind.DATE: pa.date32(),
    FieldKind.DECIMAL: pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
}

SQL_TYPES: dict[FieldKind, str] = {
    FieldKind.STRING: "VARCHAR",
    FieldKind.INTEGER: "INTEGER",
    FieldKind.BIGINT: "BIGINT",
    FieldKind.DATE: "DATE",
    FieldKind.DECIMAL: f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
}
"""Portable SQL type names (DuckDB and Spark SQL both read these; Spark maps VARCHAR)."""


def arrow_type(kind: FieldKind) -> pa.DataType:
    """The Arrow type that stores a field of ``kind`` without loss."""
    return _ARROW_TYPES[kind]


def canonical_fields() -> list[pa.Field]:
    """Typed Arrow fields in contract order, nullable as the contract says."""
    return [pa.field(f.name, arrow_type(f.kind), nullable=not f.required) for f in FIELDS]


def raw_fields() -> list[pa.Field]:
    """The canonical fields as raw text, as they arrived (for quarantine)."""
    return [pa.field(f.name, pa.string()) for f in FIELDS]
