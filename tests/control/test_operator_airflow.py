"""The operator against a real Airflow: ``kubectl apply`` of a SalesPipeline ends
with its Bronze refined into Silver by a DAG run the operator triggered, and the run's
state and figures in the pipeline's status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.airflow import dag_run_id
from salespipe.dev.airflow import USERNAME, LocalAirflow
from salespipe.dev.kube import KubeAPIServer
from salespipe.orchestration.airflow_api import AirflowClient
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from tests.control.conftest import pipeline, unique
from tests.control.running import Operator, running_operator, wait_for
from tests.orchestration.conftest import land_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operator(
    kube_api: KubeAPIServer,
    kube_client: client.ApiClient,
    salespipeline_crd: dict[str, Any],
    local_airflow: LocalAirflow,
) -> Iterator[Operator]:
    credentials = (local_airflow.url, USERNAME, local_airflow.password)
    with running_operator(kube_api, kube_client, local_airflow, credentials, 1.0) as op:
        yield op


def test_an_applied_pipeline_is_refined_by_the_run_it_triggers(
    operator: Operator, local_airflow: LocalAirflow, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    settings = Settings(data_dir=str(lake))
    land_sample(settings, 1500, 9, tmp_path / "drops")
    name = unique("live")
    operator.pipelines.create(
        pipeline(
            name,
            source={"batch": {"bronzeUri": str(lake / "bronze")}},
            silver={"uri": str(lake / "silver")},
        )
    )
    operator.wait_condition(name, "OrchestrationReady", "True")
    last = wait_for(
        lambda: (
            (r := operator.pipelines.get(name)["status"].get("lastRun"))
            and r.get("state") in ("success", "failed")
            and r
        ),
        "the triggered run to finish",
        timeout=600,
    )
    assert last["state"] == "success", last
    operator.wait_condition(name, "Ready", "True")

    run_id = dag_run_id(operator.owner(name), 1)
    with AirflowClient(local_airflow.url, USERNAME, local_airflow.password) as api:
        run = api.run("sales_batch", run_id)
    assert run.conf["pipeline"] == name
    assert run.conf["bronze_uri"] == str(lake / "bronze")
    assert run.conf["silver_uri"] == str(lake / "silver")
    figures = layer_status(settings)
    silver = figures["silver"]
    assert silver["rows"] > 1400
    layers = wait_for(lambda: operator.pipelines.get(name)["status"].get("layers"), "figures")
    assert layers["bronzeFiles"] == figures["bronze"]["files"]
    assert layers["silverRows"] + layers["quarantinedRows"] >= silver["rows"]


def test_an_airflow_outage_is_reported_and_the_run_triggered_once_it_returns(
    operator: Operator, local_airflow: LocalAirflow, tmp_path: Path
) -> None:
    """The real API server goes away: the pipeline says why it cannot run, and its run
    is triggered, once, when the server is back."""
    name = unique("outage")
    local_airflow.stop_component("api-server")
    try:
        operator.pipelines.create(
            pipeline(
                name,
                source={"batch": {"bronzeUri": str(tmp_path / "bronze")}},
                silver={"uri": str(tmp_path / "silver")},
            )
        )
        down = operator.wait_condition(name, "OrchestrationReady", "False", "AirflowUnreachable")
        assert "127.0.0.1" in down["message"]  # says where it could not reach
        assert local_airflow.password not in str(operator.pipelines.get(name)["status"])
        assert "lastRun" not in operator.pipelines.get(name)["status"]
    finally:
        local_airflow.start_component("api-server")
    operator.wait_condition(name, "OrchestrationReady", "True", timeout=120)
    run_id = dag_run_id(operator.owner(name), 1)
    assert operator.pipelines.get(name)["status"]["lastRun"]["dagRunId"] == run_id
    with AirflowClient(local_airflow.url, USERNAME, local_airflow.password) as api:
        mine = [r.dag_run_id for r in api.runs("sales_batch") if name in r.dag_run_id]
    assert mine == [run_id]
