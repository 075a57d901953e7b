"""The Bronze sink: consume ``sales_events`` and land JSON lines in Kafka Connect's layout.

Exactly once into Bronze rests on one invariant: **per partition, at most one object
is ever written without its offsets being committed, and its key is named by the
committed offset.** Each flush of a partition writes one object (plus, when the batch
held malformed messages, one dead-letter object under the same name), then commits
``last offset + 1`` synchronously before that partition can flush again. A batch never
spans two hours, so its key depends only on its first record. After a crash the
consumer resumes at the committed offset, the first flush rebuilds a batch starting at
that same record and overwrites the same key; the first flush after start also removes
a stale data or dead-letter object that the new batch does not replace (e.g. the new
batch is shorter and holds no malformed message). Nothing lost (offsets move only after
a durable write), nothing doubled (a replay overwrites, never adds).

Partitions are assigned directly (no group rebalance): one sink per topic on one
machine; Kafka Connect takes over on a cluster. Offsets still live in the consumer
group, as Connect's do. Consumer-group joins on Tansu cost ~3-23 s and a SIGKILLed
member would hold its partitions for a session timeout; direct assignment avoids both.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)

from salespipe.storage import ObjectStore
from salespipe.streaming.layout import (
    OFFSET_FIELD,
    PARTITION_FIELD,
    dead_letter_key,
    event_key,
    offsets_key,
)

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "sales_events"
DEFAULT_GROUP = "salespipe-bronze-sink"
HOUR_MS = 3_600_000


@dataclass
class SinkConfig:
    """The sink's knobs; names follow the Kafka Connect S3 sink where one exists."""

    bootstrap: str
    topic: str = DEFAULT_TOPIC
    group_id: str = DEFAULT_GROUP
    flush_size: int = 1000
    """Records per object at most (Connect ``flush.size``)."""
    rotate_interval_ms: int = 60_000
    """Close an object when a record is this much newer, by record time, than its first
    (Connect ``rotate.interval.ms``): deterministic, so replays rebuild the same objects."""
    flush_interval_ms: int | None = None
    """Also close an object this long (wall clock) after its first record arrived
    (Connect ``rotate.schedule.interval.ms``): bounds freshness at low rates. Safe for
    exactly-once here because a replay's first object overwrites the uncommitted one."""
    idle_ms: int = 1000
    """``--once``: the topic counts as drained after this long without a message."""
    max_batch: int = 5000
    """Messages fetched per consume call."""
    commit_timeout_s: float = 120.0
    """How long to retry a failed offset commit (a restarting broker) before giving up."""
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    """Extra librdkafka settings, applied last."""

    def __post_init__(self) -> None:
        if self.flush_size < 1:
            raise ValueError("flush size must be at least 1")
        if self.rotate_interval_ms < 1:
            raise ValueError("rotate interval must be at least 1 ms")


@dataclass
class SinkReport:
    """What one sink run landed."""

    events: int = 0
    dead_letter: int = 0
    objects: int = 0
    dead_letter_objects: int = 0
    commits: int = 0
    last_offsets: dict[int, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "dead_letter": self.dead_letter,
            "objects": self.objects,
            "dead_letter_objects": self.dead_letter_objects,
            "commits": self.commits,
            "last_offsets": {str(p): o for p, o in sorted(self.last_offsets.items())},
        }


@dataclass
class _Batch:
    start: int
    first_ts: int
    hour: int
    """Hours since the epoch (UTC) of ``first_ts``: an object never spans two."""
    opened: float
    last_offset: int = -1
    lines: list[bytes] = field(default_factory=list)
    dead: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines) + len(self.dead)


class SinkError(RuntimeError):
    """The sink cannot go on (missing topic, fatal consumer error, commits failing)."""


def _timestamp_ms(message: Message) -> int:
    kind, value = message.timestamp()
    return 0 if kind == TIMESTAMP_NOT_AVAILABLE or value < 0 else int(value)


def _landed_line(message: Message, partition: int, offset: int) -> tuple[bytes | None, str]:
    """The Bronze line of ``message`` (the event object plus its Kafka coordinates), or
    None and why the message is malformed.

    The coordinates are spliced onto the producer's bytes instead of re-encoding the
    event: the sink's cost per event is then one JSON parse (the malformed check),
    which is what lets one Python process keep up with 10k events/s. A duplicate key
    already in the event is shadowed by ours (JSON readers keep the last one).
    """
    value = message.value()
    if value is None or len(value) == 0:
        return None, "empty_value"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_utf8"
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid_json: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(event, dict):
        return None, f"not_an_object: {type(event).__name__}"
    coordinates = f'"{PARTITION_FIELD}":{partition},"{OFFSET_FIELD}":{offset}}}'.encode()
    body = value.strip()
    if event and b"\n" not in body and b"\r" not in body:
        return body[:-1] + b"," + coordinates, ""
    # Empty objects and pretty-printed events (a JSON line must be one line): re-encode.
    event[PARTITION_FIELD] = partition
    event[OFFSET_FIELD] = offset
    return json.dumps(event, ensure_ascii=False).encode("utf-8"), ""


def _dead_letter_line(message: Message, reason: str, timestamp_ms: int) -> bytes:
    value = message.value() or b""
    key = message.key()
    record: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": timestamp_ms,
        "key": key.decode("utf-8", "backslashreplace") if key is not None else None,
        "reason": reason,
        "value": value.decode("utf-8", "backslashreplace"),
    }
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        record["value_base64"] = base64.b64encode(value).decode("ascii")
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


class BronzeSink:
    """A consumer that lands events in Bronze. ``open`` it, call ``step`` or ``drain``,
    ``close`` it (also a context manager)."""

    def __init__(
        self,
        config: SinkConfig,
        bronze: ObjectStore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.bronze = bronze
        self.report = SinkReport()
        self._clock = clock
        self._consumer: Consumer | None = None
        self._batches: dict[int, _Batch] = {}
        self._fresh: set[int] = set()
        """Partitions not flushed since assignment: their first key may hold a stale object."""
        self._next: dict[int, int] = {}
        self._high: dict[int, int] = {}
        self._state_dirty = False

    # -- lifecycle -------------------------------------------------------------------

    def consumer_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "bootstrap.servers": self.config.bootstrap,
            "group.id": self.config.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "session.timeout.ms": 6000,
            "fetch.wait.max.ms": 100,
            "socket.keepalive.enable": True,
            "reconnect.backoff.max.ms": 1000,
        }
        settings.update(self.config.consumer_config)
        return settings

    def open(self) -> BronzeSink:
        """Connect, and assign every partition of the topic at its committed offset."""
        consumer = Consumer(self.consumer_settings())
        self._consumer = consumer
        topic = self.config.topic
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            consumer.close()
            self._consumer = None
            raise SinkError(f"topic {topic!r} does not exist on {self.config.bootstrap}")
        partitions = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = consumer.committed(partitions, timeout=10)
        for tp in committed:
            if tp.offset >= 0:
                self._next[tp.partition] = tp.offset
                self.report.last_offsets[tp.partition] = tp.offset - 1
        for tp in partitions:
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            self._high[tp.partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_INVALID) for p in sorted(meta.partitions)])
        self._fresh = set(meta.partitions)
        log.info("sink assigned %s partitions %s at %s", topic, sorted(meta.partitions), self._next)
        return self

    def close(self) -> SinkReport:
        """Land what is buffered, commit it, record offsets and leave the broker."""
        if self._consumer is not None:
            try:
                self.flush_all()
                self._write_state()
            finally:
                self._consumer.close()
                self._consumer = None
        return self.report

    def __enter__(self) -> BronzeSink:
        return self.open() if self._consumer is None else self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        elif self._consumer is not None:
            # Failing: leave without landing half-handled batches; a replay redoes them.
            self._consumer.close()
            self._consumer = None

    # -- consuming -------------------------------------------------------------------

    def step(self, timeout: float = 0.1) -> int:
        """Consume what arrives within ``timeout``, land due batches; records received."""
        consumer = self._require_consumer()
        messages = consumer.consume(self.config.max_batch, timeout)
        received = 0
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise SinkError(f"fatal consumer error: {error}")
                log.warning("consumer: %s", error)
                continue
            received += 1
            self._add(message)
        self._flush_expired()
        if self._state_dirty:
            self._write_state()
        return received

    def drained(self) -> bool:
        """True when every partition reached the end offset seen at ``open``."""
        return all(self._next.get(p, 0) >= high for p, high in self._high.items())

    def drain(self, stop: threading.Event | None = None) -> SinkReport:
        """Land everything available, then stop (``salespipe sink --once``).

        Tansu may report a high watermark short of the log end, so reaching it is not
        enough: the topic must also stay quiet for ``idle_ms``.
        """
        idle_since = self._clock()
        while stop is None or not stop.is_set():
            if self.step(0.1):
                idle_since = self._clock()
            elif self.drained() and self._clock() - idle_since >= self.config.idle_ms / 1000:
                break
        self.flush_all()
        self._write_state()
        return self.report

    def run(self, stop: threading.Event) -> SinkReport:
        """Land events until ``stop`` is set, then land the buffer and return."""
        while not stop.is_set():
            self.step(0.1)
        self.flush_all()
        self._write_state()
        return self.report

    def _require_consumer(self) -> Consumer:
        if self._consumer is None:
            raise SinkError("the sink is not open")
        return self._consumer

    def _add(self, message: Message) -> None:
        partition = message.partition()
        offset = message.offset()
        assert partition is not None and offset is not None
        timestamp = _timestamp_ms(message)
        hour = timestamp // HOUR_MS
        batch = self._batches.get(partition)
        if batch is not None and (
            hour != batch.hour or timestamp - batch.first_ts >= self.config.rotate_interval_ms
        ):
            self._flush(partition)
            batch = None
        if batch is None:
            batch = _Batch(offset, timestamp, hour, self._clock())
            self._batches[partition] = batch
        line, reason = _landed_line(message, partition, offset)
        if line is None:
            batch.dead.append(_dead_letter_line(message, reason, timestamp))
        else:
            batch.lines.append(line)
        batch.last_offset = offset
        self._next[partition] = offset + 1
        if len(batch.lines) + len(batch.dead) >= self.config.flush_size:
            self._flush(partition)

    def _flush_expired(self) -> None:
        interval = self.config.flush_interval_ms
        if interval is None:
            return
        now = self._clock()
        for partition, batch in list(self._batches.items()):
            if (now - batch.opened) * 1000 >= interval:
                self._flush(partition)

    def flush_all(self) -> None:
        """Land and commit every buffered batch."""
        for partition in list(self._batches):
            self._flush(partition)

    # -- landing ---------------------------------------------------------------------

    def _flush(self, partition: int) -> None:
        batch = self._batches.pop(partition, None)
        if batch is None or not len(batch):
            return
        topic = self.config.topic
        data_key = event_key(topic, partition, batch.start, batch.first_ts)
        dead_key = dead_letter_key(topic, partition, batch.start, batch.first_ts)
        if batch.lines:
            self.bronze.write_bytes(data_key, b"\n".join(batch.lines) + b"\n")
            self.report.objects += 1
        if batch.dead:
            self.bronze.write_bytes(dead_key, b"\n".join(batch.dead) + b"\n")
            self.report.dead_letter_objects += 1
        if partition in self._fresh:
            self._fresh.discard(partition)
            if not batch.lines:
                _delete_if_present(self.bronze, data_key)
            if not batch.dead:
                _delete_if_present(self.bronze, dead_key)
        self._commit(partition, batch.last_offset + 1)
        self.report.events += len(batch.lines)
        self.report.dead_letter += len(batch.dead)
        self.report.last_offsets[partition] = batch.last_offset
        self._state_dirty = True

    def _commit(self, partition: int, next_offset: int) -> None:
        """Commit synchronously, retrying while the broker is away: this partition must
        not land another object until this one is committed (the invariant above)."""
        consumer = self._require_consumer()
        offsets = [TopicPartition(self.config.topic, partition, next_offset)]
        deadline = self._clock() + self.config.commit_timeout_s
        delay = 0.1
        while True:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
                self.report.commits += 1
                return
            except KafkaException as exc:
                if self._clock() > deadline:
                    raise SinkError(f"could not commit {offsets[0]}: {exc}") from exc
                log.warning("commit of partition %s failed (%s); retrying", partition, exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _write_state(self) -> None:
        if not self._state_dirty:
            return
        record = {
            "topic": self.config.topic,
            "last_offsets": {str(p): o for p, o in sorted(self.report.last_offsets.items())},
            "updated": datetime.now(UTC).isoformat(),
        }
        self.bronze.write_bytes(offsets_key(self.config.topic), json.dumps(record).encode())
        self._state_dirty = False


def _delete_if_present(store: ObjectStore, key: str) -> None:
    """Remove a stale object. ObjectStore has no delete yet, so this goes through its
    pyarrow filesystem (the lead may move it into ObjectStore)."""
    path = store.uri(key) if not store.is_s3 else store.uri(key).removeprefix("s3://")
    if store.exists(key):
        store.fs.delete_file(path)
