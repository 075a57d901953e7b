"""Bronze event objects as raw Silver rows: the hand-over to the Silver step.

Silver itself (validate, quarantine, MERGE) is the batch ETL's; these tests pin what it
receives from the streaming path and that the dedupe rule it applies yields exactly the
produced lines, with the latest event_time winning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_support import TOPIC, produce_scenario

from salespipe.contract import field_names
from salespipe.dev.kafka import TansuBroker
from salespipe.storage import ObjectStore
from salespipe.streaming.layout import (
    event_raw_rows,
    list_event_files,
    raw_schema,
    read_event_files,
)
from salespipe.streaming.producer import generated_events
from salespipe.streaming.sink import BronzeSink, SinkConfig


def test_raw_rows_are_text_fields_plus_lineage() -> None:
    line = (
        b'{"row_id": 7, "order_id": "US-1", "quantity": 3, "sales": "1.50", "ship_date": null,'
        b' "event_id": "e", "event_time": "2025-01-01T10:00:00+02:00",'
        b' "_kafka_partition": 1, "_kafka_offset": 41}\n'
    )
    (row,) = event_raw_rows("sales_data/k.json", line)
    assert list(row) == [*field_names(), "_source_system", "_source_object",
                         "_source_position", "_event_time"]  # fmt: skip
    assert (row["row_id"], row["quantity"], row["sales"]) == ("7", "3", "1.50")
    assert row["ship_date"] is None and row["customer_id"] is None
    assert row["_source_system"] == "streaming"
    assert row["_source_object"] == "sales_data/k.json"
    assert row["_source_position"] == 41
    assert row["_event_time"] == datetime.fromisoformat("2025-01-01T08:00:00+00:00")


def test_an_unusable_event_time_becomes_null_not_a_guess() -> None:
    (row,) = event_raw_rows("k", b'{"event_time": "2025-01-01T10:00:00", "_kafka_offset": 0}')
    assert row["_event_time"] is None


def test_sink_to_raw_rows_then_latest_event_time_per_line_key(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    produce_scenario(broker.bootstrap, 3000, seed=9)
    sink = BronzeSink(SinkConfig(broker.bootstrap, flush_size=250, idle_ms=300), bronze).open()
    sink.drain()
    sink.close()

    table = read_event_files(bronze, list_event_files(bronze, TOPIC))
    assert table.schema == raw_schema()
    sent = [e for e in generated_events(3000, seed=9, defect_rate=0.05) if isinstance(e, dict)]
    assert table.num_rows == len(sent) == sink.report.events
    assert sink.report.dead_letter == 3000 - len(sent)

    # Silver's rule: latest _event_time wins, ties by object key, then position.
    winners: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(
        table.to_pylist(),
        key=lambda r: (r["_event_time"], r["_source_object"], r["_source_position"]),
    ):
        winners[(row["order_id"], row["row_id"])] = row
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for event in sorted(sent, key=lambda e: e["event_time"]):
        expected[(event["order_id"], str(event["row_id"]))] = event
    assert set(winners) == set(expected)
    assert len(winners) < len(sent), "the scenario has duplicates and corrections"
    for key, event in expected.items():
        assert winners[key]["quantity"] == str(event["quantity"]), key
