"""The connector monitor against a stub of Kafka Connect's documented REST contract."""

from __future__ import annotations

import pytest

from salespipe.orchestration.connect import ConnectClient, ConnectError, monitor
from tests.orchestration.connect_stub import KafkaConnectStub, StubConnector

RESTART = "/restart?includeTasks=true&onlyFailed=true"


def test_healthy_connectors_are_left_alone(connect_stub: KafkaConnectStub) -> None:
    connect_stub.connectors["p1-bronze-sink"] = StubConnector(tasks=["RUNNING", "RUNNING"])
    with ConnectClient(connect_stub.url) as client:
        report = monitor(client)
    assert report.healthy == ["p1-bronze-sink"]
    assert report.restarted == [] and report.failing == []
    assert not [r for r in connect_stub.requests if r[0] == "POST"]


def test_a_failed_task_is_restarted_with_only_failed_and_include_tasks(
    connect_stub: KafkaConnectStub,
) -> None:
    connect_stub.connectors["p1-bronze-sink"] = StubConnector(tasks=["RUNNING", "FAILED"])
    with ConnectClient(connect_stub.url) as client:
        report = monitor(client, ["p1-bronze-sink"], poll_s=0.01)
    assert report.restarted == ["p1-bronze-sink"]
    assert report.failing == [] and report.healthy == ["p1-bronze-sink"]
    assert ("POST", f"/connectors/p1-bronze-sink{RESTART}") in connect_stub.requests


def test_a_failed_connector_is_restarted(connect_stub: KafkaConnectStub) -> None:
    connect_stub.connectors["c"] = StubConnector(state="FAILED", tasks=[])
    with ConnectClient(connect_stub.url) as client:
        report = monitor(client, poll_s=0.01)
    assert report.restarted == ["c"] and report.failing == []


def test_a_connector_still_failing_after_restart_is_reported_with_its_trace(
    connect_stub: KafkaConnectStub,
) -> None:
    connect_stub.connectors["ok"] = StubConnector()
    connect_stub.connectors["bad"] = StubConnector(tasks=["FAILED"], stuck=True)
    with ConnectClient(connect_stub.url) as client:
        report = monitor(client, settle_s=0.3, poll_s=0.05)
    assert [h.name for h in report.failing] == ["bad"]
    assert report.healthy == ["ok"]
    described = report.failing[0].describe()
    assert "task 0 FAILED" in described and "ConnectException: boom" in described


def test_an_unknown_connector_is_an_error_naming_the_call(
    connect_stub: KafkaConnectStub,
) -> None:
    with ConnectClient(connect_stub.url) as client, pytest.raises(ConnectError, match="404"):
        monitor(client, ["missing"])


def test_an_unreachable_connect_is_a_clear_error() -> None:
    client = ConnectClient("http://127.0.0.1:9", timeout_s=1)
    with client, pytest.raises(ConnectError, match="unreachable"):
        client.connectors()
