"""End-to-end freshness through Silver: events produced at a fixed rate -> visible in
the Silver ``sales`` table, with ``salespipe stream`` (sink + Silver micro-batches) and
the producer each in their own process, as in production.

    python -m bench.stream_silver --rates 1000 10000 --seconds 30

Freshness of one Silver row = the timestamp of the Silver commit that wrote it (its
``_batch_id``'s commit) - the Kafka CreateTime of the message it came from (its
partition and offset). "Sustained" means every acknowledged line reached Silver and
the p95 stayed under the target while the producer kept the rate.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from confluent_kafka import Consumer, TopicPartition
from rich.console import Console
from rich.table import Table

from salespipe.bronze.events import parse_object_key
from salespipe.dev.kafka import TansuBroker, create_topic
from salespipe.settings import Settings
from salespipe.silver.batch import open_table
from salespipe.silver.ledger import LEDGER_KEY
from salespipe.silver.tables import SALES

TOPIC = "sales_events"
PARTITIONS = 3


def _create_times(bootstrap: str) -> dict[tuple[int, int], int]:
    """CreateTime (ms) of every message on the topic, by (partition, offset)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-audit", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    times: dict[tuple[int, int], int] = {}
    quiet = 0
    while quiet < 5:
        batch = [m for m in consumer.consume(5000, 0.2) if m.error() is None]
        quiet = 0 if batch else quiet + 1
        for message in batch:
            times[(message.partition() or 0, message.offset() or 0)] = message.timestamp()[1]
    consumer.close()
    return times


def _silver_rows(settings: Settings) -> list[tuple[str, int, str]]:
    table = open_table(settings.silver, SALES)
    if table is None:
        return []
    con = duckdb.connect()
    con.register("sales", table.to_pyarrow_dataset())
    rows = con.execute("SELECT _source_object, _source_position, _batch_id FROM sales").fetchall()
    return [(str(o), int(p), str(b)) for o, p, b in rows]


def _commit_times(settings: Settings) -> dict[str, int]:
    """Silver commit time (ms) by batch id, from the ledger in the commit metadata."""
    table = open_table(settings.silver, SALES)
    times: dict[str, int] = {}
    for commit in table.history() if table else []:
        payload = commit.get(LEDGER_KEY)
        if payload:
            times[json.loads(payload)["batch_id"]] = int(commit["timestamp"])
    return times


def run(rate: int, seconds: float, producer_config: list[str], work: Path) -> dict[str, Any]:
    settings = Settings(data_dir=str(work / f"data-{rate}"))
    with TansuBroker(log_path=work / f"tansu-{rate}.log") as broker:
        create_topic(broker.bootstrap, TOPIC, PARTITIONS)
        log = (work / f"stream-{rate}.log").open("wb")
        stream = subprocess.Popen(
            [sys.executable, "-m", "salespipe.cli.app", "stream", "--bootstrap",
             broker.bootstrap, "--data-dir", settings.data_dir, "--flush-interval-ms", "200",
             "--silver-interval-ms", "500"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            producer = subprocess.run(
                [sys.executable, "-m", "salespipe.cli.app", "produce", "--bootstrap",
                 broker.bootstrap, "--rate", str(rate), "--duration", str(seconds),
                 "--seed", str(rate), *(f"--producer-config={c}" for c in producer_config)],
                capture_output=True, check=True,
            )  # fmt: skip
            produced = json.loads(producer.stdout.decode().strip().splitlines()[-1])["produce"]
            created = _create_times(broker.bootstrap)
            settled, last, deadline = 0.0, -1, time.monotonic() + 120
            while time.monotonic() < deadline and settled < 3.0:
                count = len(_silver_rows(settings))
                settled = settled + 1.0 if count == last else 0.0
                last = count
                time.sleep(1.0)
        finally:
            stream.send_signal(signal.SIGTERM)
            stream.wait(120)
            log.close()
        commits = _commit_times(settings)
        delays = []
        for key, offset, batch in _silver_rows(settings):
            parsed = parse_object_key(key)
            if parsed and (parsed.partition, offset) in created and batch in commits:
                delays.append((commits[batch] - created[(parsed.partition, offset)]) / 1000)
    cuts = statistics.quantiles(delays, n=100, method="inclusive") if len(delays) > 1 else [0.0]
    return {
        "target_rate": rate,
        "produced_rate": produced["events_per_second"],
        "acknowledged": produced["acknowledged"],
        "silver_rows": len(delays),
        "silver_commits": len(commits),
        "p50": cuts[min(49, len(cuts) - 1)],
        "p95": cuts[min(94, len(cuts) - 1)],
        "max": max(delays, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--producer-config", action="append", default=["batch.size=131072"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="salespipe-e2e-") as tmp:
        results = [run(r, args.seconds, args.producer_config, Path(tmp)) for r in args.rates]
    table = Table(title="Freshness: produced -> visible in Silver (salespipe stream)")
    for column in (
        "target ev/s",
        "produced ev/s",
        "acknowledged",
        "Silver rows",
        "Silver commits",
        "p50 s",
        "p95 s",
        "max s",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            f"{r['target_rate']:,}",
            f"{r['produced_rate']:,.0f}",
            f"{r['acknowledged']:,}",
            f"{r['silver_rows']:,}",
            f"{r['silver_commits']}",
            f"{r['p50']:.2f}",
            f"{r['p95']:.2f}",
            f"{r['max']:.2f}",
        )
    Console(width=140).print(table)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
