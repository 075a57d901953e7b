"""End to end on a real broker: events with re-deliveries, corrections and malformed
messages go through ``stream`` (sink + Silver micro-batches) and Silver holds exactly
one row per line key, at its latest version, to the cent; malformed messages are
dead-lettered, never lost; a SIGTERM-style stop loses and doubles nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from salespipe.dev.kafka import TansuBroker
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.streaming.producer import Malformed, generated_events
from tests.streaming.stream_support import TOPIC, produce_scenario
from tests.support import quarantine, sales

EVENTS = 3000


def _expected(count: int, seed: int) -> tuple[dict[tuple[str, int], dict[str, Any]], int]:
    """The latest version of each line among the events sent, and the malformed count."""
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    malformed = 0
    for event in generated_events(count, seed=seed, defect_rate=0.05):
        if isinstance(event, Malformed):
            malformed += 1
            continue
        key = (event["order_id"], int(event["row_id"]))
        if key not in latest or event["event_time"] > latest[key]["event_time"]:
            latest[key] = event
    return latest, malformed


def test_stream_lands_every_event_once_and_silver_holds_the_latest_lines(
    broker: TansuBroker, tmp_path: Path
) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"), scratch_dir=str(tmp_path))
    log = (tmp_path / "stream.log").open("wb")
    stream = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "salespipe.cli.app",
            "stream",
            "--bootstrap",
            broker.bootstrap,
            "--data-dir",
            settings.data_dir,
            "--flush-interval-ms",
            "200",
            "--silver-interval-ms",
            "300",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        produce_scenario(broker.bootstrap, EVENTS, seed=3)
        expected, malformed = _expected(EVENTS, seed=3)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stream.poll() is None:
            landed = settings.silver.exists("sales/_delta_log")
            if landed and layer_status(settings)["silver"]["rows"] == len(expected):
                break
            time.sleep(0.5)
    finally:
        stream.send_signal(signal.SIGTERM)  # a clean stop: land, commit, Silver once more
        code = stream.wait(60)
        log.close()
    assert code == 0, (tmp_path / "stream.log").read_text()[-2000:]

    rows = sales(settings)
    assert len(rows) == len(expected)
    assert {(r["order_id"], r["row_id"]) for r in rows} == set(expected)
    want = sum((Decimal(e["sales"]) for e in expected.values()), Decimal(0))
    assert sum((r["sales"] for r in rows), Decimal(0)) == want
    assert all(r["_source_system"] == "streaming" for r in rows)
    assert quarantine(settings) == []
    status = layer_status(settings)
    assert status["streaming"]["dead_letter"] == malformed
    assert status["silver"]["rows"] + status["silver"]["superseded"] == status["bronze"]["rows"]
    assert settings.topic == TOPIC
