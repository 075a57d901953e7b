"""The DAG folder: what the scheduler sees when it parses ``dags/``."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from salespipe.orchestration.conf import RunConf

DAGS = Path(__file__).parents[2] / "dags"
SCHEDULES = {
    "sales_batch": "*/15 * * * *",
    "sales_streaming": "*/5 * * * *",
    "kafka_connector_monitor": "*/1 * * * *",
}


def test_the_folder_imports_without_errors_and_holds_the_four_dags(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {*SCHEDULES, "sales_analytics"}


@pytest.mark.parametrize(("dag_id", "cron"), SCHEDULES.items())
def test_cron_schedules(dagbag: Any, dag_id: str, cron: str) -> None:
    assert dagbag.dags[dag_id].timetable.expression == cron


def test_analytics_runs_on_either_silver_asset(dagbag: Any) -> None:
    from airflow.sdk import AssetAny

    condition = dagbag.dags["sales_analytics"].timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert {a.name for a in condition.objects} == {
        "silver_sales_batch",
        "silver_sales_streaming",
    }


def test_each_dag_file_imports_in_under_two_seconds(dagbag: Any) -> None:
    durations = {s.file: s.duration for s in dagbag.dagbag_stats}
    assert set(durations) == {f.name for f in DAGS.glob("*.py")}
    slow = {f: d for f, d in durations.items() if d >= timedelta(seconds=2)}
    assert not slow, f"DAG files slower than 2 s to import: {slow}"


def test_the_dags_are_acyclic(dagbag: Any) -> None:
    for dag in dagbag.dags.values():
        dag.check_cycle()


def test_run_policies(dagbag: Any) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert "salespipe" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 40, dag_id
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.on_failure_callback, where
            assert task.execution_timeout is not None, where
            if dag_id != "kafka_connector_monitor":  # its next run, a minute on, is the retry
                assert task.retries >= 1, where
                assert task.retry_exponential_backoff, where


def test_pipeline_dags_take_every_run_conf_field_as_a_param(dagbag: Any) -> None:
    expected = {f.name for f in fields(RunConf)}
    for dag_id in ("sales_batch", "sales_streaming", "sales_analytics"):
        assert set(dagbag.dags[dag_id].params) == expected, dag_id


@pytest.mark.parametrize("dag_id", ["sales_batch", "sales_streaming"])
def test_silver_is_vacuumed_after_publishing_and_only_then(dagbag: Any, dag_id: str) -> None:
    """``publish`` skips when Silver committed nothing: under the default trigger rule
    the vacuum skips with it, and a failed Silver step leaves it upstream_failed. Both
    DAGs vacuum, so a pipeline fed only by events is vacuumed too."""
    dag = dagbag.dags[dag_id]
    vacuum = dag.get_task("vacuum")
    assert vacuum.upstream_task_ids == {"publish"}
    assert vacuum.downstream_task_ids == set()
    assert vacuum.trigger_rule == "all_success"
    assert dag.get_task("publish").upstream_task_ids == {"silver", "snapshot"}


def test_kubernetes_mode_runs_silver_as_a_spark_application_and_dbt_in_a_pod(
    airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mode is configuration: the same DAG files, parsed with another environment."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import (
        SparkKubernetesOperator,
    )

    monkeypatch.setenv("SALESPIPE_EXECUTION_MODE", "kubernetes")
    monkeypatch.setenv("SALESPIPE_IMAGE", "registry.example/salespipe:1.2.3")
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    for dag_id in ("sales_batch", "sales_streaming"):
        silver = bag.dags[dag_id].get_task("silver")
        assert isinstance(silver, SparkKubernetesOperator), dag_id
        assert bag.dags[dag_id].get_task("render_silver") in silver.upstream_list
    vacuum = bag.dags["sales_batch"].get_task("vacuum")  # in the worker, as locally
    assert vacuum.task_type == "_PythonDecoratedOperator"
    assert vacuum.upstream_task_ids == {"publish"}
    gold = bag.dags["sales_analytics"].get_task("gold")
    assert gold.operator_class is KubernetesPodOperator
    # one pod per changed pipeline, from the template gold_pod renders (image included)
    assert set(gold.expand_input.value) == {"pod_template_dict"}
    assert bag.dags["sales_analytics"].get_task("gold_pod") in gold.upstream_list
