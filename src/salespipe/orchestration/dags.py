"""The four DAGs, built here so that the files in ``dags/`` are one line each.

One set of DAGs serves every pipeline: a run's params (defaults from the worker's
environment, overridden by the conf the operator triggers with) say which. The
execution mode (``SALESPIPE_EXECUTION_MODE``) picks, at parse time, whether the
heavy steps run in the worker or as Kubernetes workloads; the DAG's shape around
them is the same.

Only Airflow and this package's light modules are imported at parse time: every
engine import happens inside a task (see ``tasks``).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from salespipe.orchestration import tasks
from salespipe.orchestration.alerts import on_failure
from salespipe.orchestration.conf import MODE_ENV, RunConf
from salespipe.orchestration.connections import connection_address, connection_url

log = logging.getLogger("salespipe.dags")

SILVER_BATCH = Asset(name="silver_sales_batch", uri="salespipe://silver/sales/batch")
SILVER_STREAMING = Asset(name="silver_sales_streaming", uri="salespipe://silver/sales/streaming")
CONNECT_CONN_ID = "salespipe_kafka_connect"
"""Airflow Connection whose host is the Kafka Connect REST URL."""
KAFKA_CONN_ID = "salespipe_kafka"
"""Airflow Connection whose host is the Kafka bootstrap (local sink only)."""
IMAGE_ENV = "SALESPIPE_IMAGE"
START = datetime(2026, 1, 1)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "salespipe",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": on_failure,
}


def mode() -> str:
    return os.environ.get(MODE_ENV, "local")


def _params() -> dict[str, Param]:
    """DAG params mirror ``RunConf``: defaults from the environment, typed for the UI."""
    defaults = RunConf.from_env()
    text: Any = {"type": ["null", "string"]}
    return {
        "pipeline": Param(defaults.pipeline, type="string", description="SalesPipeline name"),
        "data_dir": Param(defaults.data_dir, type="string", description="Root of the layers"),
        "bronze_uri": Param(None, **text, description="Bronze root (default <data_dir>/bronze)"),
        "silver_uri": Param(None, **text, description="Silver root (default <data_dir>/silver)"),
        "gold_target": Param("duckdb", enum=["duckdb", "snowflake"], description="dbt target"),
        "gold_database": Param(None, **text, description="Gold DuckDB file stem / database"),
        "gold_schema": Param(None, **text, description="Gold schema (default gold)"),
        "gold_secret": Param(None, **text, description="Secret with the target's credentials"),
        "topic": Param(defaults.topic, type="string", description="Kafka topic of events"),
        "mode": Param(defaults.mode, enum=["local", "kubernetes"], description="Engine mode"),
        "spark": Param(None, type=["null", "object"], description="Spark resources/image"),
        "line_key": Param(None, type=["null", "array"], description="Silver line key columns"),
        "max_quarantine_ratio": Param(
            None, type=["null", "number"], description="Fail the run above this quarantine share"
        ),
        "retention_days": Param(
            None, type=["null", "integer"], minimum=1, description="Days of Silver history kept"
        ),
    }


def current_conf() -> RunConf:
    """The run's pipeline: its params, which the trigger's conf overrides."""
    return RunConf.from_mapping(get_current_context()["params"])


def _dag(dag_id: str, schedule: Any, doc: str, tags: list[str], **kwargs: Any) -> DAG:
    return DAG(
        dag_id,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, **kwargs.pop("default_args", {})},
        tags=["salespipe", *tags],
        doc_md=doc,
        params=kwargs.pop("params", _params()),
        **kwargs,
    )


@task(execution_timeout=timedelta(minutes=5))
def snapshot() -> dict[str, int | None]:
    """Silver's version before the step, to tell afterwards whether it committed."""
    return {"version": tasks.silver_version(current_conf())}


def _silver_step(before: Any) -> Any:
    """The Silver step in the configured mode, after ``before``."""
    if mode() == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import (
            SparkKubernetesOperator,
        )

        @task
        def render_silver() -> dict[str, Any]:
            from salespipe.orchestration.spark import SparkSpec, render_spark_application

            conf = current_conf()
            run_id = str(get_current_context()["run_id"])
            return {
                "spark": render_spark_application(conf, SparkSpec.from_mapping(conf.spark), run_id)
            }

        manifest = render_silver()
        before >> manifest
        return SparkKubernetesOperator(
            task_id="silver",
            template_spec=manifest,
            namespace="salespipe",
            get_logs=True,
            delete_on_termination=True,
        )

    @task
    def silver() -> dict[str, Any]:
        try:
            figures = tasks.refine(current_conf())
        except tasks.QualityGateFailed as failed:
            # A retry would find nothing new and succeed: fail for good instead.
            raise AirflowFailException(str(failed)) from failed
        log.info("silver: %s", figures)
        return figures

    step = silver()
    before >> step
    return step


def _publish(asset: Asset) -> Any:
    @task(outlets=[asset], execution_timeout=timedelta(minutes=5))
    def publish(before: dict[str, int | None]) -> dict[str, Any]:
        """Emit the Asset only when Silver committed: a no-op or failed run emits nothing."""
        conf = current_conf()
        after = tasks.silver_version(conf)
        if not tasks.committed(before["version"], after):
            raise AirflowSkipException(f"Silver of {conf.pipeline} committed nothing new")
        extra: dict[str, Any] = {"conf": conf.to_dict(), "silver_version": after}
        get_current_context()["outlet_events"][asset].extra = extra
        return extra

    return publish


@task
def vacuum() -> dict[str, Any]:
    """VACUUM the pipeline's Silver with its retention, once ``publish`` succeeded.

    Under the default trigger rule it skips when ``publish`` does (Silver committed
    nothing) and is upstream_failed when Silver failed. It runs in the worker in both
    modes: reading the log, listing and deleting files needs neither Spark nor a pod,
    and the worker reads Silver already (``snapshot``, ``publish``); on S3 its identity
    needs delete on the Silver prefix too. A failure fails the run and alerts, but the
    Asset is out already, so Gold is refreshed all the same.
    """
    figures = tasks.vacuum(current_conf())
    log.info("vacuum: %s", figures)
    return figures


def sales_batch() -> DAG:
    with _dag(
        "sales_batch",
        "*/15 * * * *",
        "**Batch**: new CSV drops in Bronze -> the Silver step -> Asset `silver_sales_batch` "
        "(only when Silver committed) -> VACUUM of Silver (files older than the pipeline's "
        "`retention_days`). Skips cleanly when Bronze has nothing new.",
        ["batch", "silver"],
    ) as dag:

        @task.short_circuit(execution_timeout=timedelta(minutes=5))
        def check_bronze() -> list[str]:
            """The CSV drops Silver has not taken; an empty list skips the run."""
            files = tasks.pending(current_conf(), "batch")
            log.info("%d new Bronze CSV file(s)", len(files))
            return files

        before = snapshot()
        check_bronze() >> before
        step = _silver_step(before)
        step >> _publish(SILVER_BATCH)(before) >> vacuum()
    return dag


def sales_streaming() -> DAG:
    with _dag(
        "sales_streaming",
        "*/5 * * * *",
        "**Streaming**: drain the topic into Bronze event files (locally; on a cluster "
        "Kafka Connect's S3 sink lands them and this step skips) -> the Silver step -> "
        "Asset `silver_sales_streaming` (only when Silver committed) -> VACUUM of Silver.",
        ["streaming", "silver"],
    ) as dag:

        @task(execution_timeout=timedelta(minutes=10))
        def land_events() -> dict[str, Any]:
            """``salespipe sink --once`` against the Connection ``salespipe_kafka``."""
            bootstrap = connection_address(KAFKA_CONN_ID)
            if bootstrap is None:
                raise AirflowSkipException("no Kafka connection: Kafka Connect lands events")
            return tasks.land_events(current_conf(), bootstrap)

        @task.short_circuit(execution_timeout=timedelta(minutes=5), trigger_rule="none_failed")
        def check_events() -> list[str]:
            """The event files Silver has not taken; an empty list skips the run."""
            files = tasks.pending(current_conf(), "events")
            log.info("%d new Bronze event file(s)", len(files))
            return files

        before = snapshot()
        land_events() >> check_events() >> before
        step = _silver_step(before)
        step >> _publish(SILVER_STREAMING)(before) >> vacuum()
    return dag


def triggering_confs(context: Any) -> list[RunConf]:
    """The pipelines whose Silver changed (from the Asset events), else the run's own."""
    confs: dict[str, RunConf] = {}
    for events in context.get("triggering_asset_events", {}).values():
        for event in events:
            conf = (event.extra or {}).get("conf")
            if conf:
                parsed = RunConf.from_mapping(conf)
                confs[parsed.pipeline] = parsed
    return list(confs.values()) or [RunConf.from_mapping(context["params"])]


def sales_analytics() -> DAG:
    with _dag(
        "sales_analytics",
        SILVER_BATCH | SILVER_STREAMING,
        "**Analytics**: runs when either Silver Asset is updated; one in-process `dbt "
        "build` per changed pipeline (source tests, models, then their tests, in dbt's "
        "order), because every separate dbt call pays ~3-8 s of start-up and parse.",
        ["analytics", "gold", "dbt"],
        default_args={"retries": 1},
    ) as dag:

        @task(execution_timeout=timedelta(minutes=5))
        def changed_pipelines() -> list[dict[str, Any]]:
            return [c.to_dict() for c in triggering_confs(get_current_context())]

        confs = changed_pipelines()
        if mode() == "kubernetes":
            from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

            @task
            def gold_pod(conf: dict[str, Any]) -> dict[str, Any]:
                from salespipe.orchestration.gold_pod import render_gold_pod

                image = os.environ.get(IMAGE_ENV, "ghcr.io/salespipe/salespipe:0.1.0")
                return render_gold_pod(RunConf.from_mapping(conf), image)

            # The rendered template carries image, command, arguments and the Secret
            # holding the target's credentials (a mapped pod per changed pipeline).
            KubernetesPodOperator.partial(
                task_id="gold",
                name="salespipe-gold",
                namespace="salespipe",
                get_logs=True,
                on_finish_action="delete_succeeded_pod",
            ).expand(pod_template_dict=gold_pod.expand(conf=confs))
        else:

            @task
            def gold(conf: dict[str, Any]) -> dict[str, Any]:
                figures = tasks.model_gold(RunConf.from_mapping(conf))
                log.info("%s", figures.pop("summary"))
                return figures

            gold.expand(conf=confs)
    return dag


def kafka_connector_monitor() -> DAG:
    with _dag(
        "kafka_connector_monitor",
        "*/1 * * * *",
        "**Connector monitor**: reads Kafka Connect's REST status of the pipeline's "
        "connectors (all, when none are named), restarts failed connectors and tasks, and "
        "fails (which alerts) when they stay failed.",
        ["streaming", "monitoring"],
        default_args={"retries": 0, "execution_timeout": timedelta(seconds=50)},
        params={"connectors": Param([], type="array", description="Connector names; [] = all")},
    ) as dag:

        @task
        def check_connectors() -> dict[str, Any]:
            from salespipe.orchestration.connect import ConnectClient, monitor

            url = connection_url(CONNECT_CONN_ID)
            if url is None:
                raise ConnectorsFailing(f"no Airflow Connection {CONNECT_CONN_ID!r} configured")
            names = get_current_context()["params"]["connectors"]
            with ConnectClient(url) as client:
                report = monitor(client, names)
            log.info("connectors: %s", report.to_dict())
            if report.failing:
                raise ConnectorsFailing(
                    "still failing after restart: "
                    + "; ".join(h.describe() for h in report.failing)
                )
            return report.to_dict()

        check_connectors()
    return dag


class ConnectorsFailing(RuntimeError):
    """Connectors or tasks still FAILED after a restart; the failure callback alerts."""
