"""The command functions behind ``salespipe produce`` and ``salespipe dev kafka``, run as
processes: exit codes and JSON summaries are the interface scripts rely on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from confluent_kafka.admin import AdminClient

from salespipe.dev.kafka import TansuBroker, free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salespipe.streaming", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    payload: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return payload


def test_produce_exits_zero_only_when_every_event_was_acknowledged(broker: TansuBroker) -> None:
    ok = run("produce", "--bootstrap", broker.bootstrap, "--count", "300", "--seed", "3")
    assert ok.returncode == 0, ok.stderr[-2000:]
    report = summary(ok)["produce"]
    assert isinstance(report, dict)
    assert (report["acknowledged"], report["failed"], report["ok"]) == (300, 0, True)


def test_produce_refuses_malformed_source_lines_and_exits_non_zero(broker: TansuBroker) -> None:
    args = ["produce", "--bootstrap", broker.bootstrap, "--count", "500", "--defect-rate", "0.2"]
    refused = run(*args)
    report = summary(refused)["produce"]
    assert refused.returncode == 1
    assert isinstance(report, dict) and report["invalid"] > 0 and report["ok"] is False
    injected = run(*args, "--inject-malformed")
    assert injected.returncode == 0
    assert summary(injected)["produce"]["malformed_injected"] == report["invalid"]  # type: ignore[index]


def test_produce_exits_non_zero_when_the_broker_is_unreachable() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    result = run(
        "produce", "--bootstrap", nowhere, "--count", "5", "--producer-config",
        "message.timeout.ms=1000",
    )  # fmt: skip
    assert result.returncode == 1
    assert summary(result)["produce"]["failed"] == 5  # type: ignore[index]


def test_dev_kafka_serves_sales_events_with_three_partitions_until_sigint() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "salespipe.streaming", "dev-kafka", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["kafka"]["bootstrap"] == f"127.0.0.1:{port}"
        topics = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=10)
        assert len(topics.topics["sales_events"].partitions) == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
