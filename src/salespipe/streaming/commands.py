"""The streaming commands as plain typed functions; the CLI only registers them.

``produce``, ``sink``, ``stream`` and ``dev_kafka`` return the process exit code and
write one JSON summary to ``out`` (stdout by default), so scripts and tests read the
same figures a person sees. Nothing secret is printed: S3 keys stay in the environment.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from salespipe.bronze.events import streaming_status
from salespipe.dev.process import stop_on_signals
from salespipe.settings import Settings
from salespipe.streaming.producer import EventProducer, generated_events, read_event_lines
from salespipe.streaming.sink import BronzeSink, SinkConfig

log = logging.getLogger(__name__)

SilverStep = Callable[[Settings], object]
"""Runs the Silver step once over new Bronze files (the lead's ``silver.run``)."""


def _emit(out: TextIO | None, payload: dict[str, Any]) -> None:
    print(json.dumps(payload, sort_keys=True), file=out or sys.stdout, flush=True)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` librdkafka settings; integers and booleans are converted."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            overrides[key] = lowered == "true"
        elif value.lstrip("-").isdigit():
            overrides[key] = int(value)
        else:
            overrides[key] = value
    return overrides


def produce(
    bootstrap: str,
    *,
    topic: str = "sales_events",
    count: int | None = None,
    rate: float | None = None,
    duration: float | None = None,
    seed: int = 42,
    defect_rate: float = 0.0,
    inject_malformed: bool = False,
    input_file: Path | None = None,
    producer_config: Sequence[str] = (),
    out: TextIO | None = None,
) -> int:
    """``salespipe produce``: send ``count`` events (or ``rate`` x ``duration``).

    Events come from the sample generator for ``seed`` (or ``input_file``, JSON lines).
    Exit 1 when any event was invalid or not acknowledged; the summary says how many.
    """
    if rate is not None and duration is None:
        raise ValueError("--rate needs --duration")
    if count is not None and rate is not None:
        raise ValueError("give --count or --rate/--duration, not both")
    total = int(rate * duration) if rate is not None and duration is not None else count or 1000
    source = (
        read_event_lines(input_file)
        if input_file
        else generated_events(total, seed=seed, defect_rate=defect_rate)
    )
    producer = EventProducer(bootstrap, topic, parse_overrides(producer_config))
    report = producer.produce_all(source, rate=rate, inject_malformed=inject_malformed)
    _emit(out, {"produce": report.to_dict()})
    return 0 if report.ok else 1


def _sink_config(
    bootstrap: str,
    *,
    topic: str,
    flush_size: int,
    rotate_interval_ms: int,
    flush_interval_ms: int | None,
    group_id: str,
    consumer_config: Sequence[str],
) -> SinkConfig:
    return SinkConfig(
        bootstrap=bootstrap,
        topic=topic,
        group_id=group_id,
        flush_size=flush_size,
        rotate_interval_ms=rotate_interval_ms,
        flush_interval_ms=flush_interval_ms,
        consumer_config=parse_overrides(consumer_config),
    )


def sink(
    bootstrap: str,
    *,
    topic: str = "sales_events",
    data_dir: str | None = None,
    flush_size: int = 1000,
    rotate_interval_ms: int = 60_000,
    flush_interval_ms: int | None = None,
    once: bool = False,
    group_id: str = "salespipe-bronze-sink",
    consumer_config: Sequence[str] = (),
    out: TextIO | None = None,
) -> int:
    """``salespipe sink``: land events in Bronze until SIGTERM/SIGINT, or drain (``once``)."""
    settings = Settings.from_env(data_dir)
    config = _sink_config(
        bootstrap,
        topic=topic,
        flush_size=flush_size,
        rotate_interval_ms=rotate_interval_ms,
        flush_interval_ms=flush_interval_ms,
        group_id=group_id,
        consumer_config=consumer_config,
    )
    with stop_on_signals() as stop:
        bronze_sink = BronzeSink(config, settings.bronze).open()
        try:
            report = bronze_sink.drain(stop) if once else bronze_sink.run(stop)
        finally:
            bronze_sink.close()
    _emit(out, {"sink": report.to_dict()})
    return 0


def stream(
    bootstrap: str,
    *,
    topic: str = "sales_events",
    data_dir: str | None = None,
    flush_size: int = 1000,
    rotate_interval_ms: int = 60_000,
    flush_interval_ms: int = 500,
    silver_interval_ms: int = 1000,
    silver: SilverStep | None = None,
    group_id: str = "salespipe-bronze-sink",
    consumer_config: Sequence[str] = (),
    stop: threading.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """``salespipe stream``: sink and Silver in a loop of small micro-batches.

    The sink lands a batch at least every ``flush_interval_ms``; Silver runs when new
    objects landed, at most every ``silver_interval_ms``. On SIGTERM/SIGINT the sink
    lands and commits its buffer, Silver runs once more, and the loop exits: a replay
    after any stop, clean or not, overwrites rather than adds (see ``sink.py``), and
    Silver's MERGE by line key makes re-reading a file a no-op.
    """
    settings = Settings.from_env(data_dir)
    config = _sink_config(
        bootstrap,
        topic=topic,
        flush_size=flush_size,
        rotate_interval_ms=rotate_interval_ms,
        flush_interval_ms=flush_interval_ms,
        group_id=group_id,
        consumer_config=consumer_config,
    )
    silver_runs = 0
    with stop_on_signals() as signalled:
        halt = stop or signalled
        if stop is not None:
            signalled_thread_stop(signalled, stop)
        bronze_sink = BronzeSink(config, settings.bronze).open()
        try:
            landed_at_last_silver = 0
            last_silver = 0.0
            while not halt.is_set():
                bronze_sink.step(0.05)
                objects = bronze_sink.report.objects
                due = time.monotonic() - last_silver >= silver_interval_ms / 1000
                if silver is not None and objects > landed_at_last_silver and due:
                    silver(settings)
                    silver_runs += 1
                    landed_at_last_silver = objects
                    last_silver = time.monotonic()
        finally:
            report = bronze_sink.close()
        if silver is not None and report.objects > landed_at_last_silver:
            silver(settings)
            silver_runs += 1
    _emit(out, {"stream": {**report.to_dict(), "silver_runs": silver_runs}})
    return 0


def signalled_thread_stop(signalled: threading.Event, stop: threading.Event) -> None:
    """Let a signal also set a caller's ``stop`` event (tests pass their own)."""

    def _watch() -> None:
        while not stop.is_set():
            if signalled.wait(0.2):
                stop.set()

    threading.Thread(target=_watch, daemon=True).start()


def dev_kafka(
    *,
    port: int = 9092,
    storage: str = "memory://tansu/",
    topic: str = "sales_events",
    partitions: int = 3,
    log_file: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """``salespipe dev kafka``: a Tansu broker on 127.0.0.1:``port`` with ``topic``
    (3 partitions), in the foreground until SIGINT/SIGTERM."""
    from salespipe.dev.kafka import run_local_broker

    def _ready(bootstrap: str) -> None:
        _emit(out, {"kafka": {"bootstrap": bootstrap, "topic": topic, "partitions": partitions}})

    return run_local_broker(
        port=port,
        storage=storage,
        topic=topic,
        partitions=partitions,
        log_path=log_file,
        ready=_ready,
    )


def status(data_dir: str | None = None, topic: str = "sales_events") -> dict[str, Any]:
    """The ``"streaming"`` block for ``salespipe status --json``."""
    return streaming_status(Settings.from_env(data_dir).bronze, topic)
