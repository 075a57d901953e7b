"""What the reconciler needs from Airflow, and the run identity and conf it sends.

``Orchestrator`` is the whole surface: unpause DAGs, trigger a run, read a run.
``salespipe.orchestration.airflow_api.AirflowClient`` (REST API v2, JWT) satisfies
it; tests may pass anything else that does. Its errors are the operator's too:
``AirflowUnavailable`` (no answer, 5xx: retry later) and ``AirflowAPIError`` (a 4xx
refusal: unknown DAG, bad conf, bad credentials).

Triggering is idempotent by construction: the run id is derived from the
pipeline's uid and spec generation, or from its uid and schedule tick, so an
operator that restarts between triggering and recording the run triggers the same
id again, Airflow answers 409, and the client returns the existing run (no
duplicate runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from salespipe.control.children import Owner
from salespipe.control.model import LayerFigures, SalesPipelineSpec
from salespipe.orchestration.airflow_api import DagRun
from salespipe.orchestration.conf import Mode, RunConf

ENGINE_MODES: dict[str, Mode] = {"embedded": "local", "spark": "kubernetes"}
"""The CRD's engine names -> the run conf's execution modes."""


class Orchestrator(Protocol):
    """The calls the reconciler makes on Airflow."""

    def ensure_unpaused(self, dag_ids: Iterable[str]) -> None:
        """Unpause the DAGs (a no-op for DAGs already unpaused)."""

    def trigger(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any]) -> DagRun:
        """Create the run unless it exists; the run either way."""

    def run(self, dag_id: str, dag_run_id: str) -> DagRun:
        """The run as Airflow reports it now."""

    def xcom(self, dag_id: str, dag_run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value, or None when it pushed none."""


def dag_run_id(owner: Owner, generation: int) -> str:
    """One run per (pipeline object, spec generation); a re-created pipeline of the
    same name has a new uid, so it never collides with its predecessor's runs."""
    return f"salespipe__{owner.name}__{owner.uid}__g{generation}"


def scheduled_run_id(owner: Owner, tick: datetime) -> str:
    """One run per (pipeline object, schedule tick), e.g. ``...__s20260301T1215Z``; the
    ``s`` keeps it apart from the generation runs' ``g``, and at most 129 characters
    fit Airflow's 250.

    The tick is not sent as the run's logical date: Airflow keeps logical dates
    unique per DAG, and every pipeline shares the batch DAG, so two pipelines on the
    same tick would collide. The run id carries it instead."""
    return f"salespipe__{owner.name}__{owner.uid}__s{tick.astimezone(UTC):%Y%m%dT%H%MZ}"


def run_conf(owner: Owner, spec: SalesPipelineSpec) -> dict[str, Any]:
    """The conf of a triggered run, built and checked by the DAGs' own ``RunConf``
    (which rejects unknown keys), without the fields left at their defaults."""
    spark = spec.engine.spark
    conf = RunConf(
        pipeline=owner.name,
        bronze_uri=spec.source.batch.bronze_uri,
        silver_uri=spec.silver.uri,
        gold_target=spec.gold.target,
        gold_database=spec.gold.database,
        gold_schema=spec.gold.schema,
        gold_secret=ref.name if (ref := spec.gold.credentials_secret_ref) else None,
        topic=spec.source.streaming.topic if spec.source.streaming else RunConf.topic,
        mode=ENGINE_MODES[spec.engine.mode],
        line_key=tuple(spec.silver.line_key),
        max_quarantine_ratio=spec.quality.max_quarantine_ratio,
        retention_days=spec.silver.retention_days,
        spark=None
        if spark is None or spec.engine.mode != "spark"
        else {
            "image": spark.image,
            "namespace": owner.namespace,
            "driver_cores": spark.driver.cores,
            "driver_memory": spark.driver.memory,
            "executor_cores": spark.executor.cores,
            "executor_memory": spark.executor.memory,
            "executor_instances": spark.executor.instances,
            "spark_conf": dict(spark.spark_conf),
        },
    )
    return {k: v for k, v in conf.to_dict().items() if v is not None and k != "data_dir"}


def layer_figures(value: Any) -> LayerFigures | None:
    """Figures from the Silver task's XCom (``orchestration.tasks.refine``'s dict:
    files, accepted, quarantined); None when the run pushed none."""
    if not isinstance(value, Mapping):
        return None
    return LayerFigures(
        bronze_files=_count(value.get("files")),
        silver_rows=_count(value.get("accepted")),
        quarantined_rows=_count(value.get("quarantined")),
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None
