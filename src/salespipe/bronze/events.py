"""Where streamed events live in Bronze, and how a Bronze event becomes a raw Silver row.

Layout (identical for our sink and the Kafka Connect S3 sink, see ``connector.py``)::

    <bronze>/sales_data/<topic>/year=YYYY/month=MM/day=DD/hour=HH/<topic>+<partition>+<start>.json
    <bronze>/dead_letter/<topic>/year=YYYY/month=MM/day=DD/hour=HH/<topic>+<partition>+<start>.json
    <bronze>/_streaming/<topic>/offsets.json

* The hour is the UTC hour of the Kafka record timestamp of the object's first record
  (Connect: ``TimeBasedPartitioner``, ``timestamp.extractor=Record``). An object never
  spans two hours: an hour change closes it, as Connect rotates on a new encoded partition.
* ``<start>`` is the Kafka offset of the object's first record, zero-padded to 10
  digits (Connect's ``filename.offset.zero.pad.width``), so keys sort in offset order
  within a partition and a re-delivered batch lands on the same key and overwrites it.
* Each line is the event's JSON object plus ``_kafka_partition`` and ``_kafka_offset``
  (Connect: the ``InsertField$Value`` transform), so every line carries its own offset
  even where a dead-lettered message left a gap.
* Dead-letter lines are JSON objects with topic, partition, offset, timestamp_ms, key,
  reason and the raw value (text; ``value_base64`` when it is not UTF-8).
* ``offsets.json`` is informational (``salespipe status``): the last offset landed per
  partition. The source of truth for progress is the consumer group's committed offset.

Raw rows for Silver (``read_event_files``): the 24 canonical fields as text (NULL when
absent or JSON null) and the lineage columns ``_source_system = 'streaming'``,
``_source_object`` = the object key below Bronze, ``_source_position`` = the Kafka
offset and ``_event_time`` = the event's ``event_time`` in UTC. When an event carries
no usable ``event_time`` (only a foreign producer can send that: ours validates), its
object's landing time stands in, exactly as for a CSV drop, so the column is never NULL.

Precedence between batch and streaming versions of one line (Silver's dedupe and MERGE
rule, ``silver.plan.dedupe_order``): the latest ``_event_time`` wins, i.e. the event's
own time for an event and the landing time for a CSV line; ties go to the greater
object key, then the greater position. Within a partition, keys sort in offset order.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from salespipe.bronze.layout import DATA_PREFIX
from salespipe.contract.events import EVENT_TIME
from salespipe.contract.schema import field_names
from salespipe.storage import ObjectStore

EVENTS_DIR = DATA_PREFIX
"""Connect's ``topics.dir``: events sit beside the CSV drops, under their topic's name."""
DEAD_LETTER_DIR = "dead_letter"
STATE_DIR = "_streaming"
OFFSET_PAD = 10
PARTITION_FIELD = "_kafka_partition"
OFFSET_FIELD = "_kafka_offset"
SOURCE_SYSTEM = "streaming"

_OBJECT_NAME = re.compile(r"^(?P<topic>.+)\+(?P<partition>[0-9]+)\+(?P<start>[0-9]+)\.json$")


def hour_path(timestamp_ms: int) -> str:
    """``year=YYYY/month=MM/day=DD/hour=HH`` of a record timestamp, in UTC."""
    t = datetime.fromtimestamp(max(timestamp_ms, 0) / 1000, UTC)
    return f"year={t.year:04d}/month={t.month:02d}/day={t.day:02d}/hour={t.hour:02d}"


def object_name(topic: str, partition: int, start_offset: int) -> str:
    return f"{topic}+{partition}+{start_offset:0{OFFSET_PAD}d}.json"


def event_key(topic: str, partition: int, start_offset: int, timestamp_ms: int) -> str:
    """The Bronze key of the event object whose first record is ``start_offset``."""
    name = object_name(topic, partition, start_offset)
    return f"{EVENTS_DIR}/{topic}/{hour_path(timestamp_ms)}/{name}"


def dead_letter_key(topic: str, partition: int, start_offset: int, timestamp_ms: int) -> str:
    """The dead-letter key for the malformed messages of the same batch."""
    name = object_name(topic, partition, start_offset)
    return f"{DEAD_LETTER_DIR}/{topic}/{hour_path(timestamp_ms)}/{name}"


def offsets_key(topic: str) -> str:
    return f"{STATE_DIR}/{topic}/offsets.json"


@dataclass(frozen=True, order=True)
class EventObject:
    """A parsed event object key."""

    topic: str
    partition: int
    start_offset: int
    key: str


def parse_object_key(key: str) -> EventObject | None:
    """The topic, partition and start offset named by ``key``; None for other objects."""
    match = _OBJECT_NAME.match(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    return EventObject(match["topic"], int(match["partition"]), int(match["start"]), key)


def list_event_files(bronze: ObjectStore, topic: str = "sales_events") -> list[str]:
    """Every event object key of ``topic``, in (hour, partition, offset) order."""
    prefix = f"{EVENTS_DIR}/{topic}"
    return [info.key for info in bronze.list(prefix) if parse_object_key(info.key)]


def list_dead_letter_files(bronze: ObjectStore, topic: str = "sales_events") -> list[str]:
    prefix = f"{DEAD_LETTER_DIR}/{topic}"
    return [info.key for info in bronze.list(prefix) if parse_object_key(info.key)]


def raw_schema() -> pa.Schema:
    """The Arrow schema of ``read_event_files``: raw text fields plus lineage."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in field_names()]
        + [
            pa.field("_source_system", pa.string(), nullable=False),
            pa.field("_source_object", pa.string(), nullable=False),
            pa.field("_source_position", pa.int64(), nullable=False),
            pa.field("_event_time", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


def event_rows_sql(path: str, key: str, landed_at: datetime) -> str:
    """DuckDB SQL for the raw rows of one event object stored at local ``path``.

    DuckDB reads the JSON lines (about 15x faster than Python): the 24 fields as text,
    ``_source_position`` the Kafka offset (the line index where a foreign writer left it
    out) and ``_event_time`` the event's zoned ``event_time`` in UTC, else the object's
    landing time. A line that is not JSON fails the read, naming the object: the sink
    never writes one, so it means the object was damaged, and nothing is skipped.
    """
    names = field_names()
    columns = ", ".join(f"'{n}': 'VARCHAR'" for n in [*names, EVENT_TIME, OFFSET_FIELD])
    zoned = (
        f"({EVENT_TIME} LIKE '%+__:__' OR {EVENT_TIME} LIKE '%-__:__' OR {EVENT_TIME} LIKE '%Z')"
    )
    landed = landed_at.astimezone(UTC).replace(tzinfo=None)
    quoted_key = key.replace("'", "''")
    quoted_path = path.replace("'", "''")
    return f"""
SELECT {", ".join(names)}, '{SOURCE_SYSTEM}' AS _source_system, '{quoted_key}' AS _source_object,
  coalesce(TRY_CAST({OFFSET_FIELD} AS BIGINT), row_number() OVER () - 1) AS _source_position,
  coalesce(CASE WHEN {zoned} THEN TRY_CAST(TRY_CAST({EVENT_TIME} AS TIMESTAMPTZ) AS TIMESTAMP) END,
           TIMESTAMP '{landed:%Y-%m-%d %H:%M:%S.%f}') AS _event_time
FROM read_json('{quoted_path}', format='newline_delimited', columns={{{columns}}})"""


def read_event_files(bronze: ObjectStore, keys: Iterable[str]) -> pa.Table:
    """The raw rows of the given Bronze event objects as one Arrow table (the same SQL
    that Silver runs, see ``event_rows_sql``)."""
    import duckdb

    con = duckdb.connect()
    tables = []
    with tempfile.TemporaryDirectory(prefix="salespipe-events-") as tmp:
        for index, key in enumerate(keys):
            local = bronze.fetch(key, Path(tmp) / f"events-{index}.json")
            sql = event_rows_sql(str(local), key, bronze.info(key).mtime)
            tables.append(con.execute(sql).to_arrow_table())
    con.close()
    if not tables:
        return raw_schema().empty_table()
    table = pa.concat_tables(tables)
    return table.set_column(
        table.schema.get_field_index("_event_time"),
        "_event_time",
        table.column("_event_time").cast(pa.timestamp("us", tz="UTC")),
    ).cast(raw_schema())


def read_offsets(bronze: ObjectStore, topic: str = "sales_events") -> dict[int, int]:
    """The last landed offset per partition, from the sink's record ({} before any)."""
    key = offsets_key(topic)
    if not bronze.exists(key):
        return {}
    record = json.loads(bronze.read_bytes(key))
    return {int(p): int(o) for p, o in record.get("last_offsets", {}).items()}


def streaming_status(bronze: ObjectStore, topic: str = "sales_events") -> dict[str, Any]:
    """The ``"streaming"`` block of ``salespipe status --json``.

    ``event_files``: event objects in Bronze; ``dead_letter``: dead-lettered messages
    (lines, not objects); ``last_offsets``: last landed offset per partition.
    """
    dead = 0
    for key in list_dead_letter_files(bronze, topic):
        dead += sum(1 for line in bronze.read_bytes(key).splitlines() if line.strip())
    return {
        "event_files": len(list_event_files(bronze, topic)),
        "dead_letter": dead,
        "last_offsets": {str(p): o for p, o in sorted(read_offsets(bronze, topic).items())},
    }
