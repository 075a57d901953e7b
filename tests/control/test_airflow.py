"""What the operator asks Airflow, through the orchestration package's REST v2 client,
against a stub of the documented contract (tests against a real Airflow use
salespipe.dev.airflow)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from salespipe.control.airflow import (
    Orchestrator,
    dag_run_id,
    layer_figures,
    run_conf,
    scheduled_run_id,
)
from salespipe.control.children import Owner
from salespipe.control.crd import NAME_MAX
from salespipe.control.model import LayerFigures, SalesPipelineSpec
from salespipe.control.schema import from_api
from salespipe.orchestration.airflow_api import AirflowAPIError, AirflowClient, AirflowUnavailable
from salespipe.orchestration.conf import RunConf
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import pipeline

OWNER = Owner("emea", "sales", "0b7c6d2e-8f0a-4b65-a1d2-3e4f5a6b7c8d")


def rest(stub: AirflowStub, password: str | None = None) -> Orchestrator:
    return AirflowClient(stub.url, stub.username, stub.password if password is None else password)


def test_run_id_is_deterministic_per_uid_and_generation() -> None:
    assert dag_run_id(OWNER, 3) == dag_run_id(OWNER, 3)
    assert dag_run_id(OWNER, 3) != dag_run_id(OWNER, 4)
    assert dag_run_id(OWNER, 3) != dag_run_id(Owner("emea", "sales", "another-uid"), 3)


def test_run_conf_carries_what_the_dags_need() -> None:
    body = pipeline("emea")
    conf = run_conf(OWNER, from_api(SalesPipelineSpec, body["spec"]))
    assert conf == {
        "pipeline": "emea",
        "bronze_uri": "s3://lake/bronze",
        "silver_uri": "s3://lake/silver",
        "gold_target": "duckdb",
        "gold_database": "salespipe",
        "gold_schema": "gold",
        "topic": "sales_events",
        "mode": "local",
        "line_key": ["order_id", "row_id"],
        "max_quarantine_ratio": 0.05,
        "retention_days": 7,
    }
    assert RunConf.from_mapping(conf).settings().silver_uri == "s3://lake/silver"


def test_the_line_key_quality_gate_and_retention_reach_the_run() -> None:
    body = pipeline(
        "emea",
        silver={
            "uri": "s3://lake/silver",
            "lineKey": ["order_id", "product_id", "row_id"],
            "retentionDays": 30,
        },
        quality={"maxQuarantineRatio": 0.2},
    )
    conf = RunConf.from_mapping(run_conf(OWNER, from_api(SalesPipelineSpec, body["spec"])))
    assert conf.settings().line_key == ("order_id", "product_id", "row_id")
    assert conf.max_quarantine_ratio == 0.2
    assert conf.retention_days == 30


def test_the_gold_target_and_its_secret_name_reach_the_run() -> None:
    body = pipeline(
        "emea",
        gold={
            "target": "snowflake",
            "database": "SALES",
            "schema": "EMEA_GOLD",
            "credentialsSecretRef": {"name": "emea.snowflake-key"},  # any Secret name
        },
    )
    conf = RunConf.from_mapping(run_conf(OWNER, from_api(SalesPipelineSpec, body["spec"])))
    settings = conf.settings()
    assert (settings.gold_target, settings.gold_database, settings.gold_schema) == (
        "snowflake",
        "SALES",
        "EMEA_GOLD",
    )
    assert conf.gold_secret == "emea.snowflake-key"  # a name: the operator never reads it


def test_spark_engine_conf_is_accepted_by_the_dags() -> None:
    body = pipeline(
        "emea",
        engine={
            "mode": "spark",
            "spark": {
                "image": "spark:4",
                "executor": {"instances": 4},
                "sparkConf": {"spark.sql.shuffle.partitions": "64"},
            },
        },
    )
    conf = run_conf(OWNER, from_api(SalesPipelineSpec, body["spec"]))
    assert conf["mode"] == "kubernetes"
    assert conf["spark"]["executor_instances"] == 4
    assert conf["spark"]["spark_conf"] == {"spark.sql.shuffle.partitions": "64"}
    assert conf["spark"]["namespace"] == "sales"
    assert RunConf.from_mapping(conf).spark == conf["spark"]


def test_unpause_trigger_and_read_a_run(airflow_stub: AirflowStub) -> None:
    airflow = rest(airflow_stub)
    airflow.ensure_unpaused(airflow_stub.dags)
    assert set(airflow_stub.paused.values()) == {False}
    run_id = dag_run_id(OWNER, 1)
    assert airflow.trigger("sales_batch", run_id, {"pipeline": "emea"}).state == "queued"
    airflow_stub.finish(run_id, "running")
    assert airflow.run("sales_batch", run_id).state == "running"


def test_triggering_an_existing_run_id_is_not_a_second_run(airflow_stub: AirflowStub) -> None:
    """An operator restarted between trigger and status write triggers again: 409 means
    already triggered, and the existing run comes back."""
    run_id = dag_run_id(OWNER, 1)
    rest(airflow_stub).trigger("sales_batch", run_id, {})
    airflow_stub.finish(run_id, "success")
    assert rest(airflow_stub).trigger("sales_batch", run_id, {}).state == "success"
    assert len(airflow_stub.runs) == 1
    assert airflow_stub.posts == [("sales_batch", run_id)] * 2


def test_expired_token_is_renewed(airflow_stub: AirflowStub) -> None:
    airflow = rest(airflow_stub)
    airflow.ensure_unpaused(["sales_batch"])
    airflow_stub.tokens.clear()  # Airflow restarted or the JWT expired
    airflow.ensure_unpaused(["sales_batch"])
    assert len(airflow_stub.tokens) == 1


def test_refusals_and_outages_are_told_apart(airflow_stub: AirflowStub) -> None:
    with pytest.raises(AirflowAPIError, match="HTTP 404 DAG with dag_id: 'nope' not found"):
        rest(airflow_stub).trigger("nope", "r1", {})
    with pytest.raises(AirflowAPIError, match="401") as bad_login:
        rest(airflow_stub, password="wrong").ensure_unpaused(["sales_batch"])
    assert "wrong" not in str(bad_login.value)
    airflow_stub.stop()
    with pytest.raises(AirflowUnavailable, match="unreachable"):
        rest(airflow_stub).run("sales_batch", "r1")


def test_a_tasks_xcom_is_read_and_a_missing_one_is_none(airflow_stub: AirflowStub) -> None:
    airflow = rest(airflow_stub)
    run_id = dag_run_id(OWNER, 1)
    airflow.trigger("sales_batch", run_id, {})
    assert airflow.xcom("sales_batch", run_id, "silver") is None  # not run yet
    airflow_stub.finish(run_id, "success", xcom={"silver": {"files": 2, "accepted": 10}})
    value = airflow.xcom("sales_batch", run_id, "silver")
    assert layer_figures(value) == LayerFigures(bronze_files=2, silver_rows=10)
    assert layer_figures(None) is None


def test_scheduled_run_id_is_deterministic_per_uid_and_tick_and_fits_airflow() -> None:
    tick = datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    assert scheduled_run_id(OWNER, tick) == f"salespipe__emea__{OWNER.uid}__s20260301T1215Z"
    assert scheduled_run_id(OWNER, tick) != scheduled_run_id(OWNER, tick + timedelta(minutes=15))
    assert scheduled_run_id(OWNER, tick) != scheduled_run_id(Owner("emea", "sales", "other"), tick)
    # The same instant in another zone is the same tick.
    assert scheduled_run_id(OWNER, tick.astimezone(timezone(timedelta(hours=-5)))) == (
        scheduled_run_id(OWNER, tick)
    )
    longest = Owner("x" * NAME_MAX, "sales", OWNER.uid)
    assert len(scheduled_run_id(longest, tick)) <= 250
    assert len(dag_run_id(longest, 2**63 - 1)) <= 250
    # Generation runs end in __g<n>: the two kinds never share an id.
    assert dag_run_id(OWNER, 1) == f"salespipe__emea__{OWNER.uid}__g1"


def test_at_most_max_in_flight_requests_are_sent_at_once(airflow_stub: AirflowStub) -> None:
    """Reconcile threads share one client; an API server sent more than it can serve
    slows down for everyone, so the client holds the rest back."""
    airflow_stub.trigger_delay_s = 0.2
    client = AirflowClient(
        airflow_stub.url, airflow_stub.username, airflow_stub.password, max_in_flight=3
    )
    client.ensure_unpaused(["sales_batch"])  # log in once, before the threads race
    with client, ThreadPoolExecutor(12) as pool:
        runs = list(pool.map(lambda n: client.trigger("sales_batch", f"r{n}", {}), range(12)))
    assert len({r.dag_run_id for r in runs}) == 12
    assert airflow_stub.most_concurrent == 3
