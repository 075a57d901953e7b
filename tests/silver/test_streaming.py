"""Streamed events land in the same Silver table as CSV lines, by the same rules:
latest event time wins across both paths, offsets are the lineage, and an event
object that a replay grew is taken again from the next offset on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from salespipe.bronze.events import event_key
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from tests.support import GOOD, csv_text, drop, line, quarantine, sales

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def _event(row_id: int, offset: int, when: datetime, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {**GOOD, "row_id": row_id, "quantity": 3, **overrides}
    event.update(
        event_id=f"e-{offset}",
        event_time=when.isoformat(),
        _kafka_partition=0,
        _kafka_offset=offset,
    )
    return event


def _land_events(settings: Settings, start: int, events: list[dict[str, Any]]) -> str:
    key = event_key("sales_events", 0, start, int(T0.timestamp() * 1000))
    body = "".join(json.dumps(e) + "\n" for e in events)
    settings.bronze.write_bytes(key, body.encode())
    return key


def test_events_merge_into_sales_with_offsets_as_lineage(settings: Settings) -> None:
    key = _land_events(settings, 0, [_event(1, 0, T0), _event(2, 1, T0, quantity=0)])
    result = run_silver(settings)
    (row,) = sales(settings)
    assert (row["_source_system"], row["_source_object"], row["_source_position"]) == (
        "streaming",
        key,
        0,
    )
    assert row["_event_time"] == T0
    (rejected,) = quarantine(settings)
    assert (rejected["_reason"], rejected["_source_position"]) == ("non_positive_quantity", 1)
    assert result.accepted == 1 and result.quarantined == 1


def test_the_latest_version_wins_across_batch_and_streaming(
    settings: Settings, tmp_path: Path
) -> None:
    landed = datetime.now(UTC)
    drop(settings, tmp_path, "a.csv", csv_text([line(1, sales="10.00"), line(2, sales="20.00")]))
    _land_events(
        settings,
        0,
        [
            _event(1, 0, landed + timedelta(hours=1), sales="11.00"),  # later: wins
            _event(2, 1, landed - timedelta(days=1), sales="19.00"),  # older: loses
        ],
    )
    run_silver(settings)
    by_row = {r["row_id"]: r for r in sales(settings)}
    assert by_row[1]["sales"] == Decimal("11.0000")
    assert by_row[1]["_source_system"] == "streaming"
    assert by_row[2]["sales"] == Decimal("20.0000")
    assert by_row[2]["_source_system"] == "batch"


def test_a_replayed_object_that_grew_is_taken_from_the_next_offset(settings: Settings) -> None:
    first = [_event(1, 0, T0), _event(2, 1, T0)]
    _land_events(settings, 0, first)
    run_silver(settings)
    assert run_silver(settings).committed is False
    _land_events(settings, 0, [*first, _event(3, 2, T0)])  # same key, one more line
    again = run_silver(settings)
    assert [e.lines for e in again.files] == [1]
    assert [r["row_id"] for r in sales(settings)] == [1, 2, 3]
    assert run_silver(settings).committed is False
