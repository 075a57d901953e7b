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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from salespipe.contract.schema import field_names
from salespipe.storage import ObjectStore
from salespipe.streaming.schema import EVENT_TIME

EVENTS_DIR = "sales_data"
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


def _as_text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold; Silver parses and checks it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def parse_event_time(value: Any) -> datetime | None:
    """An RFC 3339 ``event_time`` as an aware UTC datetime; None when unusable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


RAW_COLUMNS = [
    *field_names(),
    "_source_system",
    "_source_object",
    "_source_position",
    "_event_time",
]


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


def event_raw_rows(key: str, data: bytes, landed_at: datetime) -> Iterator[dict[str, Any]]:
    """The raw rows of one Bronze event object (``key`` is its key below Bronze,
    ``landed_at`` its modification time)."""
    names = field_names()
    for index, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        event = json.loads(line)
        row: dict[str, Any] = {name: _as_text(event.get(name)) for name in names}
        row["_source_system"] = SOURCE_SYSTEM
        row["_source_object"] = key
        offset = event.get(OFFSET_FIELD)
        row["_source_position"] = offset if isinstance(offset, int) else index
        row["_event_time"] = parse_event_time(event.get(EVENT_TIME)) or landed_at
        yield row


def read_event_files(bronze: ObjectStore, keys: Iterable[str]) -> pa.Table:
    """The raw rows of the given Bronze event objects as one Arrow table.

    Silver stages this table exactly like a CSV drop's raw lines (DuckDB reads Arrow
    tables directly), so validation, quarantine and dedupe run once for both paths.
    """
    rows: list[dict[str, Any]] = []
    for key in keys:
        landed_at = bronze.info(key).mtime
        rows.extend(event_raw_rows(key, bronze.read_bytes(key), landed_at))
    return pa.Table.from_pylist(rows, schema=raw_schema())


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
