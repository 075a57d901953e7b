"""The two Silver Delta tables and their Arrow schemas, derived from the contract."""

from __future__ import annotations

import pyarrow as pa

from salespipe.contract.arrow import canonical_fields, raw_fields

SALES = "sales"
QUARANTINE = "sales_quarantine"

_TS = pa.timestamp("us", tz="UTC")
DESCRIPTION = b"description"
"""Field metadata key of a column's description (dbt's source docs read it)."""


def _field(name: str, kind: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, kind, nullable=nullable, metadata={DESCRIPTION: description})


def column_description(field: pa.Field) -> str:
    """The description a Silver-only column carries in its metadata."""
    return str((field.metadata or {})[DESCRIPTION].decode())


LINEAGE_FIELDS: tuple[pa.Field, ...] = (
    _field("_ingested_at", _TS, "When the line was written to Silver (UTC).", False),
    _field("_source_system", pa.string(), "Where the line came from: batch or streaming.", False),
    _field(
        "_source_object", pa.string(), "Bronze object (file or topic partition) of the line.", False
    ),
    _field(
        "_source_position", pa.int64(), "Line number or offset within the source object.", False
    ),
    _field("_batch_id", pa.string(), "Silver run that wrote the line.", False),
    _field("_event_time", _TS, "Precedence time: the latest version of a line wins.", False),
)

VERDICT_FIELDS: tuple[pa.Field, ...] = (
    _field("_reason", pa.string(), "Primary reason code (the first check that fired).", False),
    _field("_reasons", pa.list_(pa.string()), "Every reason code that fired.", False),
    _field("_field", pa.string(), "Field of the primary reason."),
    _field("_value", pa.string(), "Offending raw value."),
    _field("_raw_line", pa.string(), "The raw source line, when it could not be split."),
    _field("_detail", pa.string(), "The parser's message, for malformed lines."),
)
"""What quarantine adds to a rejected line's raw text."""

SALES_SCHEMA = pa.schema([*canonical_fields(), *LINEAGE_FIELDS])
"""One row per line key: the latest accepted version of each order line."""

QUARANTINE_SCHEMA = pa.schema([*raw_fields(), *VERDICT_FIELDS, *LINEAGE_FIELDS])
"""Every rejected line, as it arrived, with the reasons; nothing is dropped."""
