"""The producer against a real Tansu broker: validation, keying and delivery accounting."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from salespipe.dev.kafka import TansuBroker, free_port
from salespipe.streaming.producer import (
    PRODUCER_DEFAULTS,
    EventProducer,
    Malformed,
    generated_events,
    producer_settings,
)

TOPIC = "sales_events"


def consume_all(bootstrap: str, expected: int, timeout: float = 20.0) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(3)])
    messages: list[Any] = []
    import time

    deadline = time.monotonic() + timeout
    while len(messages) < expected and time.monotonic() < deadline:
        messages.extend(m for m in consumer.consume(1000, 0.2) if m.error() is None)
    consumer.close()
    return messages


def test_settings_are_the_issues_defaults_and_overridable() -> None:
    assert PRODUCER_DEFAULTS == {
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "snappy",
        "batch.size": 16384,
        "linger.ms": 10,
    }
    settings = producer_settings("h:1", {"linger.ms": 50})
    assert settings["linger.ms"] == 50
    assert settings["acks"] == "all"


def test_every_event_is_acknowledged_and_keyed_by_order_id(broker: TansuBroker) -> None:
    events = [e for e in generated_events(500, seed=11) if isinstance(e, dict)]
    producer = EventProducer(broker.bootstrap, TOPIC)
    report = producer.produce_all(events)
    assert report.ok
    assert (report.attempted, report.acknowledged, report.failed) == (500, 500, 0)

    messages = consume_all(broker.bootstrap, 500)
    assert len(messages) == 500
    partitions_of_order: dict[str, set[int]] = defaultdict(set)
    for message in messages:
        event = json.loads(message.value())
        assert message.key().decode() == event["order_id"]
        partitions_of_order[event["order_id"]].add(message.partition())
    assert all(len(p) == 1 for p in partitions_of_order.values())
    assert len({p for ps in partitions_of_order.values() for p in ps}) == 3


def test_an_invalid_event_is_an_error_and_never_sent(broker: TansuBroker) -> None:
    events: list[Any] = [e for e in generated_events(20, seed=11) if isinstance(e, dict)]
    events[5] = dict(events[5], quantity="many")
    events[9] = {k: v for k, v in events[9].items() if k != "order_id"}
    producer = EventProducer(broker.bootstrap, TOPIC)
    report = producer.produce_all(events)
    assert not report.ok
    assert (report.attempted, report.acknowledged, report.invalid) == (18, 18, 2)
    assert any("quantity" in e for e in report.errors)
    assert len(consume_all(broker.bootstrap, 18, timeout=3)) == 18


def test_malformed_lines_are_refused_unless_injection_is_asked_for(broker: TansuBroker) -> None:
    source: list[Any] = [Malformed(b'{"order_id": "broken", "sales": ')]
    refused = EventProducer(broker.bootstrap, TOPIC).produce_all(source)
    assert (refused.invalid, refused.attempted, refused.ok) == (1, 0, False)
    injected = EventProducer(broker.bootstrap, TOPIC).produce_all(source, inject_malformed=True)
    assert (injected.malformed_injected, injected.acknowledged, injected.ok) == (1, 1, True)


def test_unacknowledged_events_are_counted_as_failures() -> None:
    """Nobody listens on the port: every event times out and the run is not ok."""
    nowhere = f"127.0.0.1:{free_port()}"
    events = [e for e in generated_events(10, seed=1) if isinstance(e, dict)]
    producer = EventProducer(nowhere, TOPIC, {"message.timeout.ms": 1000})
    report = producer.produce_all(events, timeout=10)
    assert not report.ok
    assert report.failed == 10
    assert report.acknowledged == 0
    assert sum(report.failure_reasons.values()) == 10
