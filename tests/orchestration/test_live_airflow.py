"""A real Airflow, driven through its REST API v2 the way the operator drives it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from salespipe.dev.airflow import LocalAirflow
from salespipe.gold.runner import gold_status
from salespipe.orchestration.airflow_api import (
    AirflowAPIError,
    AirflowClient,
    AirflowUnavailable,
)
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from tests.orchestration.conftest import land_sample

pytestmark = pytest.mark.slow


@pytest.fixture
def client(local_airflow: LocalAirflow) -> AirflowClient:
    with AirflowClient(local_airflow.url, "admin", local_airflow.password) as api:
        api.unpause_when_parsed(["sales_batch", "sales_analytics"])
        yield api


def test_a_triggered_batch_run_updates_gold_through_the_silver_asset(
    client: AirflowClient, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=str(data))
    land_sample(settings, 2000, 5, tmp_path / "drops")
    before = {r.dag_run_id for r in client.runs("sales_analytics")}

    conf = {"pipeline": "live", "data_dir": str(data)}
    run = client.trigger("sales_batch", "live-batch-1", conf)
    assert run.conf == conf
    assert client.wait("sales_batch", "live-batch-1", timeout_s=600).state == "success"

    deadline = time.monotonic() + 600
    while True:
        new = [r for r in client.runs("sales_analytics") if r.dag_run_id not in before]
        if new and new[0].finished:
            break
        assert time.monotonic() < deadline, "sales_analytics did not run after the Asset"
        time.sleep(1)
    assert new[0].run_type == "asset_triggered"
    assert new[0].state == "success"
    silver = layer_status(settings)["silver"]
    gold = gold_status(settings)
    assert gold["fact_rows"] == silver["rows"] > 0
    assert gold["sales_total"] == silver["sales_total"]


def test_triggering_one_run_id_twice_starts_one_run(client: AirflowClient, tmp_path: Path) -> None:
    conf = {"pipeline": "twice", "data_dir": str(tmp_path / "empty")}
    first = client.trigger("sales_batch", "twice-1", conf)
    second = client.trigger("sales_batch", "twice-1", conf)
    assert first.dag_run_id == second.dag_run_id == "twice-1"
    assert [r.dag_run_id for r in client.runs("sales_batch")].count("twice-1") == 1
    client.wait("sales_batch", "twice-1", timeout_s=600)


def test_wrong_credentials_are_refused_without_echoing_them(local_airflow: LocalAirflow) -> None:
    api = AirflowClient(local_airflow.url, "admin", "not-the-password-xyz")
    with api, pytest.raises(AirflowAPIError) as refused:
        api.dag("sales_batch")
    assert refused.value.status == 401
    assert "not-the-password-xyz" not in str(refused.value)


def test_an_unreachable_airflow_is_unavailable() -> None:
    api = AirflowClient("http://127.0.0.1:9", "admin", "pw", timeout_s=2)
    with api, pytest.raises(AirflowUnavailable, match="unreachable"):
        api.dag("sales_batch")
