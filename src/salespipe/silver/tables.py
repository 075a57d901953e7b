"""The two Silver Delta tables and their Arrow schemas, derived from the contract."""

from __future__ import annotations

import pyarrow as pa

from salespipe.contract.arrow import canonical_fields, raw_fields

SALES = "sales"
QUARANTINE = "sales_quarantine"

_TS = pa.timestamp("us", tz="UTC")

LINEAGE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("_ingested_at", _TS, nullable=False),  # when Silver took the line in
    pa.field("_source_system", pa.string(), nullable=False),  # 'batch' or 'streaming'
    pa.field("_source_object", pa.string(), nullable=False),  # Bronze object key
    pa.field("_source_position", pa.int64(), nullable=False),  # CSV line or Kafka offset
    pa.field("_batch_id", pa.string(), nullable=False),  # the Silver run
    pa.field("_event_time", _TS, nullable=False),  # precedence: landing or event time
)

SALES_SCHEMA = pa.schema([*canonical_fields(), *LINEAGE_FIELDS])
"""One row per line key: the latest accepted version of each order line."""

QUARANTINE_SCHEMA = pa.schema(
    [
        *raw_fields(),
        pa.field("_reason", pa.string(), nullable=False),
        pa.field("_reasons", pa.list_(pa.string()), nullable=False),
        pa.field("_field", pa.string()),
        pa.field("_value", pa.string()),
        pa.field("_raw_line", pa.string()),  # the line as read, for malformed lines
        pa.field("_detail", pa.string()),  # the parser's message, for malformed lines
        *LINEAGE_FIELDS,
    ]
)
"""Every rejected line, as it arrived, with the reasons; nothing is dropped."""
