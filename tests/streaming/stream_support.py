"""Shared checks for the streaming tests: what landed in Bronze, offset by offset."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from salespipe.storage import ObjectStore
from salespipe.streaming.layout import (
    list_dead_letter_files,
    list_event_files,
    parse_object_key,
)
from salespipe.streaming.producer import EventProducer, generated_events

TOPIC = "sales_events"


@dataclass
class Landed:
    """Every landed (partition, offset), counted, for events and dead letters."""

    events: Counter[tuple[int, int]]
    dead: Counter[tuple[int, int]]
    lines: list[dict[str, Any]]


def landed(bronze: ObjectStore) -> Landed:
    events: Counter[tuple[int, int]] = Counter()
    dead: Counter[tuple[int, int]] = Counter()
    lines: list[dict[str, Any]] = []
    for key in list_event_files(bronze, TOPIC):
        parsed = parse_object_key(key)
        assert parsed is not None
        rows = [json.loads(line) for line in bronze.read_bytes(key).splitlines()]
        assert rows, f"empty object {key}"
        assert rows[0]["_kafka_offset"] >= parsed.start_offset
        for row in rows:
            assert row["_kafka_partition"] == parsed.partition
            events[(row["_kafka_partition"], row["_kafka_offset"])] += 1
        lines.extend(rows)
    for key in list_dead_letter_files(bronze, TOPIC):
        for line in bronze.read_bytes(key).splitlines():
            record = json.loads(line)
            assert record["reason"]
            dead[(record["partition"], record["offset"])] += 1
    return Landed(events, dead, lines)


def topic_offsets(bootstrap: str) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """All (partition, offset) on the topic, split into JSON objects and the rest."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "auditor", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(3)])
    good: set[tuple[int, int]] = set()
    bad: set[tuple[int, int]] = set()
    quiet = 0
    while quiet < 5:
        batch = [m for m in consumer.consume(1000, 0.2) if m.error() is None]
        quiet = 0 if batch else quiet + 1
        for message in batch:
            where = (message.partition() or 0, message.offset() or 0)
            try:
                ok = isinstance(json.loads(message.value() or b""), dict)
            except ValueError:
                ok = False
            (good if ok else bad).add(where)
    consumer.close()
    return good, bad


def produce_scenario(bootstrap: str, count: int, seed: int = 7, rate: float | None = None) -> Any:
    """``count`` generated events with duplicates, corrections and injected malformed
    messages (defect rate 5%), all acknowledged."""
    producer = EventProducer(bootstrap, TOPIC)
    report = producer.produce_all(
        generated_events(count, seed=seed, defect_rate=0.05), rate=rate, inject_malformed=True
    )
    assert report.ok, report.to_dict()
    assert report.malformed_injected > 0
    return report


def assert_exactly_once(bronze: ObjectStore, bootstrap: str) -> Landed:
    """Every message on the topic landed once: JSON objects as events, the rest as
    dead letters; nothing missing, nothing twice."""
    good, bad = topic_offsets(bootstrap)
    result = landed(bronze)
    doubled = {k: n for k, n in (result.events + result.dead).items() if n > 1}
    assert not doubled, f"landed more than once: {sorted(doubled)[:10]}"
    assert set(result.events) == good, (
        f"missing {sorted(good - set(result.events))[:10]}, "
        f"extra {sorted(set(result.events) - good)[:10]}"
    )
    assert set(result.dead) == bad
    return result
