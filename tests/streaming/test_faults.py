"""Fault tests with real processes: SIGKILL the sink mid-stream, restart the broker on
S3 storage (SeaweedFS), stop ``stream`` with SIGTERM. Each ends with every message
landed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from salespipe.dev.kafka import TansuBroker, create_topic
from salespipe.dev.ports import free_port
from salespipe.dev.s3 import SeaweedS3
from salespipe.storage import ObjectStore
from salespipe.streaming.sink import BronzeSink, SinkConfig
from tests.streaming.stream_support import TOPIC, assert_exactly_once, landed, produce_scenario

pytestmark = pytest.mark.slow


def streaming_cli(*args: str, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "salespipe.cli.app", *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def catches(pid: int, signum: int) -> bool:
    """True once process ``pid`` has installed a handler for ``signum`` (its SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_sigkilled_sink_restarts_without_loss_or_doubles(
    broker: TansuBroker, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    bronze = ObjectStore(str(data_dir / "bronze"))
    producing = threading.Thread(
        target=produce_scenario, args=(broker.bootstrap, 20_000), kwargs={"rate": 4000}
    )
    producing.start()
    sink_args = [
        "sink",
        "--bootstrap",
        broker.bootstrap,
        "--data-dir",
        str(data_dir),
        "--flush-size",
        "300",
        "--flush-interval-ms",
        "150",
    ]
    try:
        for round_ in range(3):
            process = streaming_cli(*sink_args, log=tmp_path / "sink.log")
            before = len(landed(bronze).events)
            wait_for(
                lambda before=before: len(landed(bronze).events) > before + 500,
                30,
                f"the sink to land events (round {round_})",
            )
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            assert process.returncode == -signal.SIGKILL
    finally:
        producing.join()
    final = streaming_cli(*sink_args, "--once", log=tmp_path / "sink.log")
    assert final.wait(60) == 0, (tmp_path / "sink.log").read_text()[-2000:]
    result = assert_exactly_once(bronze, broker.bootstrap)
    assert len(result.events) > 18_000


def test_broker_restart_on_s3_storage_loses_and_doubles_nothing(
    seaweed: SeaweedS3, tmp_path: Path
) -> None:
    """Tansu keeps its log and the committed offsets in SeaweedFS; the sink keeps
    running (Bronze on S3 too) while the broker is SIGKILLed and started again."""
    port = free_port()
    storage = f"s3://{seaweed.buckets[0]}/"
    broker = TansuBroker(port=port, storage=storage, log_path=tmp_path / "tansu.log").start()
    bronze = ObjectStore("s3://lake/bronze")
    try:
        create_topic(broker.bootstrap, TOPIC, 3)
        produce_scenario(broker.bootstrap, 3000, seed=1)
        stop = threading.Event()
        config = SinkConfig(broker.bootstrap, flush_size=400, flush_interval_ms=200)
        sink = BronzeSink(config, bronze).open()
        thread = threading.Thread(target=sink.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: len(landed(bronze).events) > 1000, 30, "first events")
            broker.kill()
            time.sleep(1.0)
            broker = TansuBroker(port=port, storage=storage, log_path=tmp_path / "tansu.log")
            broker.start()
            assert not create_topic(broker.bootstrap, TOPIC, 3), "the topic survived"
            produce_scenario(broker.bootstrap, 3000, seed=2)
            wait_for(lambda: len(landed(bronze).events) >= 5600, 60, "all events")
            time.sleep(1.0)
        finally:
            stop.set()
            thread.join(30)
            sink.close()
        result = assert_exactly_once(bronze, broker.bootstrap)
        assert len(result.events) > 5600
        # The committed offsets live in S3 too: a new sink finds nothing left to land.
        again = BronzeSink(SinkConfig(broker.bootstrap, idle_ms=500), bronze).open()
        assert again.drain().events == 0
        again.close()
    finally:
        broker.stop()


def test_sigterm_stops_stream_cleanly_and_lands_everything(
    broker: TansuBroker, tmp_path: Path
) -> None:
    """SIGTERM mid-stream: the buffer is landed and committed, exit code 0; a later
    drain finds nothing left to land."""
    data_dir = tmp_path / "data"
    bronze = ObjectStore(str(data_dir / "bronze"))
    producing = threading.Thread(
        target=produce_scenario, args=(broker.bootstrap, 12_000), kwargs={"rate": 3000}
    )
    producing.start()
    process = streaming_cli(
        "stream",
        "--bootstrap",
        broker.bootstrap,
        "--data-dir",
        str(data_dir),
        "--flush-interval-ms",
        "5000",
        "--flush-size",
        "100000",
        log=tmp_path / "stream.log",
    )
    try:
        # On a loaded machine start-up alone can take seconds: signal only once the
        # stream handles SIGTERM, then give it a moment to buffer events.
        wait_for(lambda: catches(process.pid, signal.SIGTERM), 60, "the SIGTERM handler")
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        producing.join()
    landed_by_stream = len(landed(bronze).events)
    assert landed_by_stream > 0, "the buffer was not landed on SIGTERM"
    drain = streaming_cli(
        "sink", "--bootstrap", broker.bootstrap, "--data-dir", str(data_dir), "--once",
        log=tmp_path / "stream.log",
    )  # fmt: skip
    assert drain.wait(60) == 0
    assert_exactly_once(bronze, broker.bootstrap)
