"""The Bronze sink against a real Tansu broker: layout, dead letters, commit-after-write
and exactly-once replays."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from stream_support import TOPIC, assert_exactly_once, landed, produce_scenario

from salespipe.dev.kafka import TansuBroker
from salespipe.storage import ObjectStore
from salespipe.streaming.layout import (
    list_event_files,
    read_offsets,
    streaming_status,
)
from salespipe.streaming.producer import EventProducer, Malformed, generated_events
from salespipe.streaming.sink import BronzeSink, SinkConfig, SinkError

KEY = re.compile(
    r"^sales_data/sales_events/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/"
    r"sales_events\+[0-2]\+\d{10}\.json$"
)


def sink_once(bootstrap: str, bronze: ObjectStore, **options: Any) -> BronzeSink:
    config = SinkConfig(bootstrap=bootstrap, idle_ms=300, **options)
    sink = BronzeSink(config, bronze).open()
    sink.drain()
    sink.close()
    return sink


def committed(bootstrap: str, group: str = "salespipe-bronze-sink") -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    offsets = consumer.committed([TopicPartition(TOPIC, p) for p in range(3)], timeout=10)
    consumer.close()
    return {tp.partition: tp.offset for tp in offsets}


def test_events_land_in_kafka_connect_layout(broker: TansuBroker, bronze: ObjectStore) -> None:
    report = produce_scenario(broker.bootstrap, 1500)
    sink = sink_once(broker.bootstrap, bronze, flush_size=200)
    keys = list_event_files(bronze, TOPIC)
    assert keys and all(KEY.match(k) for k in keys), keys[:3]
    result = assert_exactly_once(bronze, broker.bootstrap)
    assert sink.report.events == len(result.events)
    assert sink.report.dead_letter == report.malformed_injected == len(result.dead)
    assert all(n <= 200 for n in _lines_per_object(bronze))


def _lines_per_object(bronze: ObjectStore) -> list[int]:
    return [len(bronze.read_bytes(k).splitlines()) for k in list_event_files(bronze, TOPIC)]


def test_object_name_is_the_first_offset_and_lines_carry_their_offsets(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    produce_scenario(broker.bootstrap, 400)
    sink_once(broker.bootstrap, bronze, flush_size=50)
    for key in list_event_files(bronze, TOPIC):
        first = json.loads(bronze.read_bytes(key).splitlines()[0])
        start = int(key.rsplit("+", 1)[1].removesuffix(".json"))
        # A batch that starts with a malformed message names the object by that offset.
        assert first["_kafka_offset"] >= start
        assert first["_kafka_offset"] - start <= 5


def test_malformed_messages_go_to_dead_letter_with_partition_offset_and_reason(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    producer = EventProducer(broker.bootstrap, TOPIC)
    good = [e for e in generated_events(5, seed=1) if isinstance(e, dict)]
    producer.produce_all(good)
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe", b""):
        producer.send_malformed(Malformed(raw, key=b"k"))
    assert producer.flush().ok
    sink_once(broker.bootstrap, bronze)
    result = landed(bronze)
    assert len(result.events) == 5
    records = [
        json.loads(line)
        for key in bronze.list("dead_letter")
        for line in bronze.read_bytes(key.key).splitlines()
    ]
    reasons = sorted(r["reason"].split(":")[0] for r in records)
    assert reasons == ["empty_value", "invalid_json", "invalid_utf8", "not_an_object"]
    assert all({"partition", "offset", "timestamp_ms", "key", "value"} <= set(r) for r in records)
    assert next(r for r in records if r["reason"] == "invalid_utf8")["value_base64"] == "//4="


def test_every_landed_line_is_one_json_object_with_its_coordinates(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    """Pretty-printed, empty and coordinate-carrying events still land as one line each."""
    producer = EventProducer(broker.bootstrap, TOPIC, {"partitioner": "murmur2_random"})
    for raw in (b'{\n  "order_id": "A-1"\n}', b"{}", b'{"_kafka_offset": -5, "x": "\\u00e9"}  '):
        producer.send_malformed(Malformed(raw, key=b"k"))
    assert producer.flush().ok
    sink_once(broker.bootstrap, bronze)
    lines = landed(bronze).lines
    assert len(lines) == 3
    assert {line.get("order_id") for line in lines} == {"A-1", None}
    assert all(line["_kafka_offset"] >= 0 for line in lines)
    assert next(line for line in lines if "x" in line)["x"] == "\u00e9"


def test_offsets_are_committed_after_landing_and_a_rerun_lands_nothing(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    produce_scenario(broker.bootstrap, 600)
    first = sink_once(broker.bootstrap, bronze, flush_size=100)
    offsets = committed(broker.bootstrap)
    assert offsets == {p: o + 1 for p, o in first.report.last_offsets.items()}
    assert read_offsets(bronze) == first.report.last_offsets
    before = {k: bronze.read_bytes(k) for k in list_event_files(bronze, TOPIC)}
    second = sink_once(broker.bootstrap, bronze, flush_size=100)
    assert (second.report.events, second.report.objects) == (0, 0)
    assert {k: bronze.read_bytes(k) for k in list_event_files(bronze, TOPIC)} == before


def test_a_redelivered_batch_overwrites_the_same_objects(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    """A second group replays the topic from the start: same keys, same bytes, no new objects."""
    produce_scenario(broker.bootstrap, 800)
    sink_once(broker.bootstrap, bronze, flush_size=100)
    before = {k: bronze.read_bytes(k) for k in list_event_files(bronze, TOPIC)}
    sink_once(broker.bootstrap, bronze, flush_size=100, group_id="replay")
    after = {k: bronze.read_bytes(k) for k in list_event_files(bronze, TOPIC)}
    assert after == before
    assert_exactly_once(bronze, broker.bootstrap)


class CrashAfterWrite(Exception):
    """Stands for the process dying between the object write and the offset commit."""


def test_a_crash_between_write_and_commit_is_replayed_without_doubles(
    broker: TansuBroker, bronze: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sink dies after landing objects whose offsets were never committed; the
    restarted sink (with other batch sizes, so batches differ) leaves each line once."""
    produce_scenario(broker.bootstrap, 3000)
    real_commit = BronzeSink._commit
    calls = {"n": 0}

    def commit_then_die(self: BronzeSink, partition: int, next_offset: int) -> None:
        calls["n"] += 1
        if calls["n"] > 4:
            raise CrashAfterWrite
        real_commit(self, partition, next_offset)

    monkeypatch.setattr(BronzeSink, "_commit", commit_then_die)
    with (
        pytest.raises(CrashAfterWrite),
        BronzeSink(SinkConfig(broker.bootstrap, flush_size=250), bronze) as sink,
    ):
        sink.drain()
    monkeypatch.setattr(BronzeSink, "_commit", real_commit)
    assert len(landed(bronze).events) > 4 * 200, "uncommitted objects were left behind"
    sink_once(broker.bootstrap, bronze, flush_size=170)
    assert_exactly_once(bronze, broker.bootstrap)


def test_a_stale_dead_letter_object_is_removed_when_the_replay_does_not_rewrite_it(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    """A crashed run landed a batch with a malformed message; the replay's first batch
    ends before it, so the stale dead-letter object must go (it is re-landed later)."""
    producer = EventProducer(broker.bootstrap, TOPIC, {"partitioner": "murmur2_random"})
    good = [e for e in generated_events(30, seed=2) if isinstance(e, dict)]
    producer.produce_all(good)
    producer.send_malformed(Malformed(b"oops", key=b"k"))
    assert producer.flush().ok
    crashed = BronzeSink(SinkConfig(broker.bootstrap, group_id="crashed", idle_ms=300), bronze)
    crashed.open()
    crashed._commit = lambda partition, next_offset: None  # type: ignore[method-assign]
    crashed.drain()
    assert landed(bronze).dead
    sink_once(broker.bootstrap, bronze, flush_size=3)
    assert_exactly_once(bronze, broker.bootstrap)


def test_record_time_rotation_and_wall_clock_flush(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    """rotate.interval.ms closes objects by record time; flush_interval_ms by wall clock,
    so a slow trickle still lands without waiting for flush_size."""
    produce_scenario(broker.bootstrap, 100)
    stop = threading.Event()
    sink = BronzeSink(SinkConfig(broker.bootstrap, flush_interval_ms=200), bronze).open()
    thread = threading.Thread(target=sink.run, args=(stop,))
    thread.start()
    try:
        import time

        deadline = time.monotonic() + 10
        while len(landed(bronze).events) < 90 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(landed(bronze).events) >= 90, "the wall-clock flush did not land the trickle"
    finally:
        stop.set()
        thread.join()
        sink.close()
    assert_exactly_once(bronze, broker.bootstrap)


def test_status_block_counts_files_dead_letters_and_offsets(
    broker: TansuBroker, bronze: ObjectStore
) -> None:
    assert streaming_status(bronze) == {"event_files": 0, "dead_letter": 0, "last_offsets": {}}
    report = produce_scenario(broker.bootstrap, 700)
    sink = sink_once(broker.bootstrap, bronze, flush_size=100)
    status = streaming_status(bronze)
    assert status["event_files"] == len(list_event_files(bronze, TOPIC))
    assert status["dead_letter"] == report.malformed_injected
    assert status["last_offsets"] == {str(p): o for p, o in sink.report.last_offsets.items()}
    json.dumps(status)


def test_a_missing_topic_is_an_error(broker: TansuBroker, bronze: ObjectStore) -> None:
    with pytest.raises(SinkError, match="does not exist"):
        BronzeSink(SinkConfig(broker.bootstrap, topic="nope"), bronze).open()
