"""The operator's Airflow client against a stub of the documented REST API v2 contract
(tests against a real Airflow come with salespipe.dev.airflow)."""

from __future__ import annotations

import pytest

from salespipe.control.airflow import (
    AirflowRejected,
    AirflowREST,
    AirflowUnavailable,
    dag_run_id,
    run_conf,
)
from salespipe.control.children import Owner
from salespipe.control.model import SalesPipelineSpec
from salespipe.control.schema import from_api
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import pipeline

OWNER = Owner("emea", "sales", "0b7c6d2e-8f0a-4b65-a1d2-3e4f5a6b7c8d")


def rest(stub: AirflowStub, password: str | None = None) -> AirflowREST:
    return AirflowREST(stub.url, stub.username, stub.password if password is None else password)


def test_run_id_is_deterministic_per_uid_and_generation() -> None:
    assert dag_run_id(OWNER, 3) == dag_run_id(OWNER, 3)
    assert dag_run_id(OWNER, 3) != dag_run_id(OWNER, 4)
    assert dag_run_id(OWNER, 3) != dag_run_id(Owner("emea", "sales", "another-uid"), 3)


def test_run_conf_carries_what_the_dags_need() -> None:
    body = pipeline("emea", engine={"mode": "spark", "spark": {"image": "spark:4"}})
    spec = from_api(SalesPipelineSpec, body["spec"])
    assert run_conf(OWNER, spec) == {
        "pipeline": "emea",
        "bronze_uri": "s3://lake/bronze",
        "silver_uri": "s3://lake/silver",
        "gold_target": "duckdb",
        "topic": "sales_events",
        "mode": "kubernetes",
    }


def test_unpause_trigger_and_state(airflow_stub: AirflowStub) -> None:
    airflow = rest(airflow_stub)
    airflow.ensure_unpaused(["salespipe_batch", "salespipe_streaming"])
    assert airflow_stub.paused == {"salespipe_batch": False, "salespipe_streaming": False}
    run_id = dag_run_id(OWNER, 1)
    assert airflow.trigger("salespipe_batch", run_id, {"pipeline": "emea"}) == "queued"
    airflow_stub.finish(run_id, "running")
    assert airflow.run_state("salespipe_batch", run_id) == "running"


def test_triggering_an_existing_run_id_is_not_a_second_run(airflow_stub: AirflowStub) -> None:
    """An operator restarted between trigger and status write triggers again: 409 means
    already triggered, and the existing run's state comes back."""
    run_id = dag_run_id(OWNER, 1)
    rest(airflow_stub).trigger("salespipe_batch", run_id, {})
    airflow_stub.finish(run_id, "success")
    assert rest(airflow_stub).trigger("salespipe_batch", run_id, {}) == "success"
    assert len(airflow_stub.runs) == 1
    assert airflow_stub.posts == [("salespipe_batch", run_id)] * 2


def test_expired_token_is_renewed(airflow_stub: AirflowStub) -> None:
    airflow = rest(airflow_stub)
    airflow.ensure_unpaused(["salespipe_batch"])
    airflow_stub.tokens.clear()  # Airflow restarted or the JWT expired
    airflow.ensure_unpaused(["salespipe_batch"])
    assert len(airflow_stub.tokens) == 1


def test_refusals_and_outages_are_told_apart(airflow_stub: AirflowStub) -> None:
    with pytest.raises(AirflowRejected, match="HTTP 404 DAG with dag_id: 'nope' not found"):
        rest(airflow_stub).trigger("nope", "r1", {})
    with pytest.raises(AirflowRejected, match="401") as bad_login:
        rest(airflow_stub, password="wrong").ensure_unpaused(["salespipe_batch"])
    assert "wrong" not in str(bad_login.value)
    airflow_stub.stop()
    with pytest.raises(AirflowUnavailable, match="Connection refused"):
        rest(airflow_stub).run_state("salespipe_batch", "r1")
