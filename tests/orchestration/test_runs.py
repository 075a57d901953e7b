"""Whole DAG runs with ``dag.test()`` on the local engine and real files: what lands,
what is skipped, and when the Silver Assets are (and are not) emitted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salespipe.dev.kafka import TansuBroker
from salespipe.gold.runner import MARTS, gold_dir, gold_status
from salespipe.orchestration.tasks import node_results
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.streaming.commands import produce
from tests.orchestration.conftest import asset_events, land_sample, run_dag
from tests.orchestration.connect_stub import KafkaConnectStub, StubConnector

pytestmark = pytest.mark.slow


def conf(data_dir: Path, pipeline: str, **more: str) -> dict[str, Any]:
    return {"pipeline": pipeline, "data_dir": str(data_dir), **more}


def events_of(pipeline: str, asset: str = "silver_sales_batch") -> list[dict[str, Any]]:
    return [e for e in asset_events(asset) if e["conf"]["pipeline"] == pipeline]


def test_batch_lands_silver_then_emits_once_and_analytics_builds_gold(
    dagbag: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=str(data))
    land_sample(settings, 3000, 7, tmp_path / "drops")

    states = run_dag(dagbag.dags["sales_batch"], {**conf(data, "batch-e2e"), "retention_days": 3})
    assert states == {
        "check_bronze": "success",
        "snapshot": "success",
        "silver": "success",
        "publish": "success",
        "vacuum": "success",  # a first load: nothing to remove yet
    }
    silver = layer_status(settings)["silver"]
    assert silver["rows"] > 2800
    [event] = events_of("batch-e2e")
    assert event["silver_version"] == 0

    # Nothing new: the check skips the run, and no second Asset event appears.
    states = run_dag(dagbag.dags["sales_batch"], conf(data, "batch-e2e"))
    assert states["check_bronze"] == "success"
    assert {states[t] for t in ("snapshot", "silver", "publish", "vacuum")} == {"skipped"}
    assert len(events_of("batch-e2e")) == 1

    states = run_dag(dagbag.dags["sales_analytics"], conf(data, "batch-e2e"))
    assert states == {"changed_pipelines": "success", "gold": "success"}
    gold = gold_status(settings)
    assert gold["fact_rows"] == silver["rows"]
    assert gold["sales_total"] == silver["sales_total"]
    models = {
        n["name"]: n["status"]
        for n in node_results(gold_dir(settings) / "target" / "run_results.json")
        if n["type"] == "model"
    }
    assert {models[m] for m in MARTS} == {"success"}


def test_a_failing_silver_step_fails_the_task_and_emits_nothing(
    dagbag: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    land_sample(Settings(data_dir=str(data)), 200, 3, tmp_path / "drops")
    not_a_dir = tmp_path / "silver-is-a-file"
    not_a_dir.write_text("not a Delta table")

    states = run_dag(dagbag.dags["sales_batch"], conf(data, "broken", silver_uri=str(not_a_dir)))
    assert states["silver"] == "failed"
    assert states["publish"] == states["vacuum"] == "upstream_failed"
    assert events_of("broken") == []


def test_a_run_over_the_quarantine_limit_fails_and_emits_nothing(
    dagbag: Any, tmp_path: Path
) -> None:
    """The pipeline's quality gate: the lines stay in Silver and quarantine (nothing is
    lost), but the run fails for good and Gold is not refreshed."""
    data = tmp_path / "data"
    settings = Settings(data_dir=str(data))
    land_sample(settings, 1000, 4, tmp_path / "drops")  # 2% defects

    states = run_dag(
        dagbag.dags["sales_batch"],
        {**conf(data, "strict"), "max_quarantine_ratio": 0.001},
    )
    assert states["silver"] == "failed"
    assert states["publish"] == "upstream_failed"
    assert events_of("strict") == []
    assert layer_status(settings)["quarantine"]["rows"] > 0


def test_streaming_drains_the_topic_into_silver_and_emits_its_asset(
    dagbag: Any, tmp_path: Path, broker: TansuBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    assert produce(broker.bootstrap, count=500, seed=11) == 0
    monkeypatch.setenv("AIRFLOW_CONN_SALESPIPE_KAFKA", json.dumps({
        "conn_type": "kafka", "host": "127.0.0.1", "port": broker.port,
    }))  # fmt: skip

    states = run_dag(dagbag.dags["sales_streaming"], conf(data, "stream-e2e"))
    assert states == {
        "land_events": "success",
        "check_events": "success",
        "snapshot": "success",
        "silver": "success",
        "publish": "success",
        "vacuum": "success",
    }
    assert layer_status(Settings(data_dir=str(data)))["silver"]["rows"] == 500
    assert len(events_of("stream-e2e", "silver_sales_streaming")) == 1


def test_streaming_without_a_kafka_connection_leaves_landing_to_kafka_connect(
    dagbag: Any, tmp_path: Path
) -> None:
    states = run_dag(dagbag.dags["sales_streaming"], conf(tmp_path / "data", "connect-lands"))
    assert states["land_events"] == "skipped"
    assert states["check_events"] == "success"
    assert states["publish"] == states["vacuum"] == "skipped"


def test_the_monitor_restarts_what_failed_and_alerts_on_what_stays_failed(
    dagbag: Any, connect_stub: KafkaConnectStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SALESPIPE_KAFKA_CONNECT", connect_stub.url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESPIPE_ALERTS",
        json.dumps({"conn_type": "http", "host": f"{connect_stub.url}/webhook"}),
    )
    dag = dagbag.dags["kafka_connector_monitor"]
    connect_stub.connectors["a-sink"] = StubConnector(tasks=["FAILED"])
    assert run_dag(dag, {}) == {"check_connectors": "success"}
    assert connect_stub.connectors["a-sink"].tasks == ["RUNNING"]
    assert connect_stub.alerts == []

    connect_stub.connectors["b-sink"] = StubConnector(tasks=["RUNNING", "FAILED"], stuck=True)
    assert run_dag(dag, {}) == {"check_connectors": "failed"}
    [alert] = connect_stub.alerts
    assert alert["dag_id"] == "kafka_connector_monitor"
    assert "b-sink FAILED" in alert["text"] or "task 1 FAILED" in alert["text"]
