"""Bronze event objects as raw Silver rows: the hand-over to the Silver step.

Silver itself (validate, quarantine, MERGE) is the batch ETL's; these tests pin what it
receives from the streaming path and that the dedupe rule it applies yields exactly the
produced lines, with the latest event_time winning.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest

from salespipe.bronze.events import (
    list_event_files,
    raw_schema,
    read_event_files,
)
from salespipe.contract import field_names
from salespipe.dev.kafka import TansuBroker
from salespipe.storage import ObjectStore
from salespipe.streaming.producer import EventProducer, Malformed, generated_events
from salespipe.streaming.sink import BronzeSink, SinkConfig
from tests.streaming.stream_support import TOPIC, produce_scenario

LANDED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _rows(bronze: ObjectStore, line: bytes, key: str = "sales_data/k.json") -> list[Any]:
    """The raw rows Silver reads from one event object holding ``line``."""
    bronze.write_bytes(key, line)
    stamp = LANDED.timestamp()
    os.utime(bronze.uri(key), (stamp, stamp))
    return read_event_files(bronze, [key]).to_pylist()


def test_raw_rows_are_text_fields_plus_lineage(bronze: ObjectStore) -> None:
    line = (
        b'{"row_id": 7, "order_id": "US-1", "quantity": 3, "sales": "1.50", "ship_date": null,'
        b' "event_id": "e", "event_time": "2025-01-01T10:00:00+02:00",'
        b' "_kafka_partition": 1, "_kafka_offset": 41}\n'
    )
    (row,) = _rows(bronze, line)
    assert list(row) == [*field_names(), "_source_system", "_source_object",
                         "_source_position", "_event_time"]  # fmt: skip
    assert (row["row_id"], row["quantity"], row["sales"]) == ("7", "3", "1.50")
    assert row["ship_date"] is None and row["customer_id"] is None
    assert row["_source_system"] == "streaming"
    assert row["_source_object"] == "sales_data/k.json"
    assert row["_source_position"] == 41
    assert row["_event_time"] == datetime.fromisoformat("2025-01-01T08:00:00+00:00")


@pytest.mark.parametrize("value", ['"2025-01-01T10:00:00"', '"soon"', "null", "12"])
def test_an_unusable_event_time_falls_back_to_the_landing_time(
    value: str, bronze: ObjectStore
) -> None:
    """Like a CSV line: a naive or missing time is never guessed into a zone."""
    line = f'{{"event_time": {value}, "_kafka_offset": 0}}'.encode()
    (row,) = _rows(bronze, line)
    assert row["_event_time"] == LANDED


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


def test_event_rows_run_through_the_silver_plan_unchanged(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    """The hand-over works with the batch ETL's own plan (``silver.plan``): event rows
    staged as a ``source`` relation are judged by the shared rules, the malformed
    messages are in the dead letter, the rule-breaking events are quarantined with their
    reasons, and the dedupe leaves one line per line key with the latest event winning.
    Totals reconcile: accepted + quarantined = landed rows; + dead letters = produced."""
    import duckdb

    from salespipe.silver.dialect import DUCKDB
    from salespipe.silver.plan import dedupe_order, raw, validated_sql
    from salespipe.silver.tables import LINEAGE_FIELDS

    producer_events: list[Any] = list(generated_events(2000, seed=4, defect_rate=0.05))
    good = [e for e in producer_events if isinstance(e, dict)]
    good[3] = dict(good[3], quantity=-2)  # well-formed, breaks a rule: quarantine
    good[7] = dict(good[7], segment="Martians")
    producer = EventProducer(broker.bootstrap, TOPIC)
    assert all(producer.send(event) for event in good)
    producer.send_malformed(Malformed(b'{"order_id": "broken", "sales": '))
    assert producer.flush().ok
    sink = BronzeSink(SinkConfig(broker.bootstrap, idle_ms=300), bronze).open()
    sink.drain()
    sink.close()

    events = read_event_files(bronze, list_event_files(bronze, TOPIC))
    con = duckdb.connect()
    con.register("events", events)
    columns = ", ".join(f"{f} AS {raw(f)}" for f in field_names())
    con.execute(
        f"""CREATE VIEW source AS SELECT {columns}, 'iso' AS _date_convention,
        now() AS _ingested_at, _source_system, _source_object, _source_position,
        'b1' AS _batch_id, _event_time FROM events"""
    )
    lineage = tuple(f.name for f in LINEAGE_FIELDS)
    con.execute(f"CREATE VIEW validated AS {validated_sql(DUCKDB, 'source', lineage)}")
    (accepted, quarantined) = con.execute(
        "SELECT count(*) FILTER (_reason IS NULL), count(*) FILTER (_reason IS NOT NULL)"
        " FROM validated"
    ).fetchone() or (0, 0)
    reasons = {
        r
        for (r,) in con.execute(
            "SELECT _reason FROM validated WHERE _reason IS NOT NULL"
        ).fetchall()
    }
    assert {"non_positive_quantity", "unknown_value"} <= reasons
    assert accepted + quarantined == events.num_rows == len(good)
    assert sink.report.dead_letter == 1
    winners = con.execute(
        "SELECT order_id, CAST(row_id AS VARCHAR), quantity FROM validated WHERE _reason IS NULL"
        f" QUALIFY row_number() OVER (PARTITION BY order_id, row_id ORDER BY {dedupe_order()}) = 1"
    ).fetchall()
    # Only accepted versions compete: a quarantined correction does not replace a line.
    expected: dict[tuple[str, str], int] = {}
    accepted_events = [e for i, e in enumerate(good) if i not in (3, 7)]
    for event in sorted(accepted_events, key=lambda e: e["event_time"]):
        expected[(event["order_id"], str(event["row_id"]))] = event["quantity"]
    assert {(o, r): q for o, r, q in winners} == expected
