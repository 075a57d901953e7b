"""Streaming benchmark on a local Tansu broker: producer and sink throughput, and freshness
(event produced -> landed in Bronze, where Silver picks it up) at fixed rates.

    .venv/bin/python bench/streaming.py [--events 100000] [--rates 1000 10000] [--seconds 20]

The producer of the freshness runs is a separate process (``python -m salespipe.streaming
produce --rate R``), as in production, so it does not share the sink's interpreter lock.
Freshness of one event = wall time its object was written - its Kafka record timestamp
(CreateTime, stamped by the producer at send). Silver's own latency is not included:
``salespipe stream`` adds one Silver MERGE per micro-batch on top of these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Message
from rich.console import Console
from rich.table import Table

from salespipe.dev.kafka import TansuBroker, create_topic
from salespipe.storage import ObjectStore
from salespipe.streaming.commands import parse_overrides
from salespipe.streaming.producer import EventProducer, generated_events
from salespipe.streaming.sink import BronzeSink, SinkConfig

TOPIC = "sales_events"


class _TimedStore(ObjectStore):
    """Records when each event object was written, per (partition, offset)."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.landed: dict[tuple[int, int], float] = {}

    def write_bytes(self, key: str, data: bytes) -> None:
        super().write_bytes(key, data)
        now = time.time()
        if key.startswith("sales_data/"):
            for line in data.splitlines():
                event = json.loads(line)
                self.landed[(event["_kafka_partition"], event["_kafka_offset"])] = now


class _MeasuredSink(BronzeSink):
    """Keeps each record's CreateTime so freshness can be computed after landing."""

    created: dict[tuple[int, int], float]

    def _add(self, message: Message) -> None:
        _kind, ts = message.timestamp()
        self.created[(message.partition() or 0, message.offset() or 0)] = ts / 1000
        super()._add(message)


def bench_producer(bootstrap: str, count: int, overrides: dict[str, Any]) -> dict[str, Any]:
    events = list(generated_events(count, seed=1))
    producer = EventProducer(bootstrap, TOPIC, overrides)
    cpu = time.process_time()
    report = producer.produce_all(events)
    cpu = time.process_time() - cpu
    assert report.ok, report.to_dict()
    return {
        "events": report.acknowledged,
        "seconds": report.seconds,
        "rate": report.rate,
        "cpu_us_per_event": cpu / report.acknowledged * 1e6,
    }


def bench_sink(bootstrap: str, root: Path) -> dict[str, Any]:
    config = SinkConfig(bootstrap, group_id="bench-sink", idle_ms=500)
    sink = BronzeSink(config, ObjectStore(str(root))).open()
    start, cpu = time.monotonic(), time.process_time()
    sink.drain()
    seconds = time.monotonic() - start - config.idle_ms / 1000
    cpu = time.process_time() - cpu
    sink.close()
    events = sink.report.events
    return {
        "events": events,
        "seconds": seconds,
        "rate": events / seconds,
        "cpu_us_per_event": cpu / events * 1e6,
    }


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench_freshness(
    bootstrap: str,
    root: Path,
    *,
    rate: int,
    seconds: float,
    flush_interval_ms: int,
    producer_config: list[str],
) -> dict[str, Any]:
    topic = f"fresh_{rate}_{len(producer_config)}"
    create_topic(bootstrap, topic, 3)
    store = _TimedStore(str(root))
    config = SinkConfig(bootstrap, topic=topic, flush_interval_ms=flush_interval_ms)
    sink = _MeasuredSink(config, store)
    sink.created = {}
    sink.open()
    cpu = time.process_time()
    stop = threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,))
    thread.start()
    producer = subprocess.run(
        [
            sys.executable, "-m", "salespipe.streaming", "produce", "--bootstrap", bootstrap,
            "--rate", str(rate), "--duration", str(seconds), "--seed", str(rate),
            "--topic", topic, *(f"--producer-config={c}" for c in producer_config),
        ],
        capture_output=True, check=False, env={**os.environ},
    )  # fmt: skip
    produced = json.loads(producer.stdout.decode().strip().splitlines()[-1])["produce"]
    deadline = time.monotonic() + 30
    while len(store.landed) < produced["acknowledged"] and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join()
    sink.close()
    sink_cpu = time.process_time() - cpu
    delays = [store.landed[k] - sink.created[k] for k in store.landed if k in sink.created]
    return {
        "target_rate": rate,
        "producer_config": " ".join(producer_config) or "defaults",
        "sink_cpu_us_per_event": sink_cpu / max(len(delays), 1) * 1e6,
        "produced_rate": produced["events_per_second"],
        "events": len(delays),
        "acknowledged": produced["acknowledged"],
        "p50": _percentile(delays, 50),
        "p95": _percentile(delays, 95),
        "max": max(delays),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--flush-interval-ms", type=int, default=500)
    parser.add_argument(
        "--producer-config",
        action="append",
        default=[],
        help="key=value; the freshness runs are repeated with these producer settings",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="salespipe-bench-") as tmp, TansuBroker() as broker:
        create_topic(broker.bootstrap, TOPIC, 3)
        console.print(f"Tansu on {broker.bootstrap}; {args.events} events")
        results["producer"] = bench_producer(broker.bootstrap, args.events, {})
        results["sink"] = bench_sink(broker.bootstrap, Path(tmp) / "drain")
        variants = [[], args.producer_config] if args.producer_config else [[]]
        if args.producer_config:
            overrides = parse_overrides(args.producer_config)
            results["producer_tuned"] = bench_producer(broker.bootstrap, args.events, overrides)
        results["freshness"] = [
            bench_freshness(
                broker.bootstrap,
                Path(tmp) / f"fresh{r}_{i}",
                rate=r,
                seconds=args.seconds,
                flush_interval_ms=args.flush_interval_ms,
                producer_config=variant,
            )
            for i, variant in enumerate(variants)
            for r in args.rates
        ]
    throughput = Table(title="Streaming throughput (local Tansu, one process each)")
    for column in ("step", "events", "seconds", "events/s", "CPU µs/event"):
        throughput.add_column(column, justify="right")
    for step in ("producer", "producer_tuned", "sink"):
        if step not in results:
            continue
        r = results[step]
        throughput.add_row(
            step,
            f"{r['events']:,}",
            f"{r['seconds']:.2f}",
            f"{r['rate']:,.0f}",
            f"{r['cpu_us_per_event']:.0f}",
        )
    console.print(throughput)
    fresh = Table(title="Freshness: produced -> landed in Bronze (seconds)")
    fresh.add_column("producer settings")
    for column in ("target ev/s", "produced ev/s", "landed", "p50", "p95", "max"):
        fresh.add_column(column, justify="right")
    for r in results["freshness"]:
        fresh.add_row(
            r["producer_config"],
            f"{r['target_rate']:,}",
            f"{r['produced_rate']:,.0f}",
            f"{r['events'] / max(r['acknowledged'], 1):.0%}",
            f"{r['p50']:.3f}",
            f"{r['p95']:.3f}",
            f"{r['max']:.3f}",
        )
    console.print(fresh)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
