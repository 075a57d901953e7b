"""The sales event producer: validate each event against the event schema, send it keyed
by ``order_id`` and account for every delivery.

Keying by ``order_id`` keeps all lines of an order, and every version of one line, in
one partition, so Kafka's order is the order in which versions of a line are seen.
An event that fails the schema is an error: it is counted, named in the report, never
sent, and makes the run fail. Deliveries are confirmed by the broker (acks=all,
idempotence on, so librdkafka's retries cannot duplicate or reorder within a partition).
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from salespipe.generate import generate
from salespipe.streaming.schema import EVENT_ID, EVENT_TIME, InvalidEventError, validate_event

log = logging.getLogger(__name__)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "compression.type": "snappy",
    "batch.size": 16384,
    "linger.ms": 10,
}
"""The issue's settings; every one can be overridden (``--producer-config key=value``)."""

MAX_REPORTED_ERRORS = 20


@dataclass
class ProduceReport:
    """Every event is exactly one of: acknowledged, failed, invalid (not sent) or still
    pending when the flush timed out; ``malformed_injected`` counts deliberate garbage."""

    attempted: int = 0
    acknowledged: int = 0
    failed: int = 0
    invalid: int = 0
    malformed_injected: int = 0
    pending: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.invalid or self.pending)

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "invalid": self.invalid,
            "malformed_injected": self.malformed_injected,
            "pending": self.pending,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.rate, 1),
            "failure_reasons": dict(sorted(self.failure_reasons.items())),
            "errors": self.errors,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Malformed:
    """A deliberately malformed message (the generator's defect), sent unvalidated so that
    the sink's dead-letter path is exercised; never produced by accident."""

    value: bytes
    key: bytes | None = None


EventSource = Iterable[Mapping[str, Any] | Malformed]


def producer_settings(bootstrap: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    settings = {"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS}
    settings.update(overrides or {})
    return settings


class EventProducer:
    """Wraps a confluent-kafka producer with validation and delivery accounting."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = "sales_events",
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.report = ProduceReport()
        self._producer = Producer(producer_settings(bootstrap, overrides))
        self._in_flight = 0

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        self._in_flight -= 1
        if error is None:
            self.report.acknowledged += 1
            return
        self.report.failed += 1
        name = error.name()
        self.report.failure_reasons[name] = self.report.failure_reasons.get(name, 0) + 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append(
                f"not acknowledged: partition {message.partition()}: {error.str()}"
            )

    def _send(self, value: bytes, key: bytes | None, timestamp_ms: int | None) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value=value,
                    key=key,
                    on_delivery=self._on_delivery,
                    timestamp=timestamp_ms or 0,
                )
                self._in_flight += 1
                self.report.attempted += 1
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)
        self._producer.poll(0)

    def send(self, event: Mapping[str, Any], timestamp_ms: int | None = None) -> bool:
        """Validate and send one event; False (and counted invalid) when it fails."""
        try:
            validate_event(event)
        except InvalidEventError as exc:
            self.report.invalid += 1
            if len(self.report.errors) < MAX_REPORTED_ERRORS:
                self.report.errors.append(f"invalid event {event.get(EVENT_ID)!r}: {exc}")
            return False
        key = str(event["order_id"]).encode("utf-8")
        self._send(json.dumps(event, separators=(",", ":")).encode("utf-8"), key, timestamp_ms)
        return True

    def _refuse(self, item: Malformed) -> None:
        self.report.invalid += 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append(f"not a JSON object, not sent: {item.value[:80]!r}")

    def send_malformed(self, message: Malformed) -> None:
        """Send deliberate garbage (tests and defect injection only)."""
        self.report.malformed_injected += 1
        self._send(message.value, message.key, None)

    def flush(self, timeout: float = 30.0) -> ProduceReport:
        """Wait for every delivery report; what is still unconfirmed counts as pending."""
        remaining = self._producer.flush(timeout)
        self.report.pending = max(remaining, self._in_flight, 0)
        return self.report

    def produce_all(
        self,
        source: EventSource,
        rate: float | None = None,
        timeout: float = 30.0,
        inject_malformed: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> ProduceReport:
        """Send every item of ``source`` (at ``rate`` events/s when given), then flush.

        ``Malformed`` items are errors (counted invalid, not sent) unless
        ``inject_malformed``: then they are sent raw to exercise the dead-letter path.
        """
        items = iter(source)
        first = next(items, None)  # a lazy source may do its set-up work here: not timed
        start = clock()
        for sent, item in enumerate(itertools.chain([] if first is None else [first], items)):
            if rate:
                ahead = start + sent / rate - clock()
                if ahead > 0:
                    self._producer.poll(ahead)
            if isinstance(item, Malformed):
                if inject_malformed:
                    self.send_malformed(item)
                else:
                    self._refuse(item)
            else:
                self.send(item)
        report = self.flush(timeout)
        report.seconds = clock() - start
        return report


def generated_events(
    count: int, seed: int = 42, defect_rate: float = 0.0, base_size: int = 20_000
) -> Iterator[dict[str, Any] | Malformed]:
    """``count`` events from the sample generator, deterministic for ``seed``.

    The generator writes up to ``base_size`` events (with its duplicates, corrections
    and malformed lines at ``defect_rate``); beyond that the base set is replayed with
    shifted row ids, order ids, event ids and times, so long rate runs do not wait for
    the generator (~12k events/s) and every replayed line is a new line.
    """
    if count <= 0:
        return
    size = min(count, base_size)
    with tempfile.TemporaryDirectory(prefix="salespipe-events-") as tmp:
        report = generate(1, seed, Path(tmp), defect_rate=defect_rate, files=1, events=size)
        del report
        path = next((Path(tmp) / "events").glob("*.jsonl"))
        base = path.read_bytes().splitlines()
    parsed: list[dict[str, Any] | Malformed] = []
    for line in base:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            parsed.append(Malformed(line))
            continue
        parsed.append(event if isinstance(event, dict) else Malformed(line))
    produced = 0
    cycle = 0
    while True:
        for item in parsed:
            if produced >= count:
                return
            produced += 1
            if isinstance(item, Malformed) or not cycle:
                yield item
            else:
                yield _shifted(item, cycle, size)
        cycle += 1


def _shifted(event: dict[str, Any], cycle: int, size: int) -> dict[str, Any]:
    shifted = dict(event)
    if isinstance(shifted.get("row_id"), int):
        shifted["row_id"] = shifted["row_id"] + cycle * 10 * size
    shifted["order_id"] = f"{shifted.get('order_id')}-r{cycle}"
    # Derived, not drawn: a re-delivered event stays a re-delivery in every cycle.
    shifted[EVENT_ID] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{shifted.get(EVENT_ID)}/{cycle}"))
    when = datetime.fromisoformat(str(shifted[EVENT_TIME]))
    shifted[EVENT_TIME] = (when + timedelta(days=cycle)).isoformat()
    return shifted


def read_event_lines(path: Path) -> Iterator[dict[str, Any] | Malformed]:
    """Events from a JSON-lines file (e.g. the generator's); unparseable lines are
    yielded as ``Malformed`` so the caller decides (``produce`` refuses them)."""
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                yield Malformed(line.rstrip(b"\n"))
                continue
            yield event if isinstance(event, dict) else Malformed(line.rstrip(b"\n"))
