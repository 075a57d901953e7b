"""The operator end to end: kopf (KopfRunner, the deployable entry point) against the
real API server, with the Airflow REST v2 stub standing in for Airflow.

One operator serves the whole module in its own namespace; each test makes its own
pipeline, so the tests read as independent specifications.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.airflow import dag_run_id, run_conf
from salespipe.control.children import CONNECTOR, PIPELINE_LABEL, TOPIC, Owner
from salespipe.control.model import SalesPipelineSpec
from salespipe.control.schema import from_api
from salespipe.dev.kube import KubeAPIServer
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import pipeline, unique
from tests.control.running import Operator, running_operator, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operator(
    kube_api: KubeAPIServer, kube_client: client.ApiClient, salespipeline_crd: dict[str, Any]
) -> Iterator[Operator]:
    stub = AirflowStub().start()
    try:
        credentials = (stub.url, stub.username, stub.password)
        with running_operator(kube_api, kube_client, stub, credentials) as operator:
            yield operator
    finally:
        stub.stop()


def test_create_makes_owned_children_triggers_a_run_and_reports_ready(operator: Operator) -> None:
    name = unique("create")
    operator.pipelines.create(pipeline(name))
    ready = operator.wait_condition(name, "Ready", "True", "Reconciled")
    body = operator.pipelines.get(name)
    owner = Owner.from_body(body)
    assert ready["observedGeneration"] == 1
    assert body["status"]["observedGeneration"] == 1
    assert {c["type"]: c["status"] for c in body["status"]["conditions"]} == {
        "Ready": "True",
        "TopicReady": "True",
        "ConnectorReady": "True",
        "OrchestrationReady": "True",
    }
    topic = operator.child(TOPIC, f"{name}-events")
    connector = operator.child(CONNECTOR, f"{name}-bronze-sink")
    assert topic and connector
    for child in (topic, connector):
        assert child["metadata"]["ownerReferences"][0]["uid"] == owner.uid
        assert child["metadata"]["labels"][PIPELINE_LABEL] == name
    assert connector["spec"]["state"] == "running"
    [run] = operator.airflow.runs_of(name)
    assert run.dag_run_id == dag_run_id(owner, 1)
    # The conf test_airflow.py pins field by field, as it reached Airflow.
    assert run.conf == run_conf(owner, from_api(SalesPipelineSpec, body["spec"]))
    assert run.conf["pipeline"] == name
    assert set(operator.airflow.paused.values()) == {False}
    assert body["status"]["lastRun"]["state"] == "queued"
    reasons = wait_for(lambda: (r := operator.events(name)) and "Reconciled" in r and r, "events")
    assert sorted(reasons) == ["ChildCreated", "ChildCreated", "Reconciled", "RunTriggered"]


def test_run_state_is_polled_into_status(operator: Operator) -> None:
    name = unique("poll")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    run_id = operator.pipelines.get(name)["status"]["lastRun"]["dagRunId"]
    figures = {"files": 4, "accepted": 9_990, "quarantined": 10, "version": 7}
    operator.airflow.finish(run_id, "success", xcom={"silver": figures})
    operator.wait_condition(name, "OrchestrationReady", "True", "RunSucceeded")
    status = operator.pipelines.get(name)["status"]
    assert status["lastRun"]["state"] == "success"
    assert status["layers"] == {"bronzeFiles": 4, "silverRows": 9_990, "quarantinedRows": 10}
    assert "RunSucceeded" in operator.events(name)


def test_failed_run_makes_the_pipeline_not_ready(operator: Operator) -> None:
    name = unique("fail")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    operator.airflow.finish(operator.pipelines.get(name)["status"]["lastRun"]["dagRunId"], "failed")
    ready = operator.wait_condition(name, "Ready", "False", "RunFailed")
    assert "OrchestrationReady" in ready["message"]


def test_update_patches_children_and_triggers_a_new_run(operator: Operator) -> None:
    name = unique("update")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    operator.pipelines.patch(name, {"spec": {"source": {"streaming": {"partitions": 6}}}})
    wait_for(
        lambda: (operator.child(TOPIC, f"{name}-events") or {})["spec"]["partitions"] == 6,
        "topic partitions 6",
    )
    ready = wait_for(
        lambda: (c := operator.condition(name)) and c.get("observedGeneration") == 2 and c,
        "generation 2 observed",
    )
    assert ready["status"] == "True"
    owner = operator.owner(name)
    runs = sorted(r.dag_run_id for r in operator.airflow.runs_of(name))
    assert runs == sorted([dag_run_id(owner, 1), dag_run_id(owner, 2)])


def test_suspend_pauses_and_resume_restores(operator: Operator) -> None:
    name = unique("suspend")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    operator.pipelines.patch(name, {"spec": {"suspend": True}})
    operator.wait_condition(name, "Ready", "False", "Suspended")
    assert operator.condition(name, "OrchestrationReady")["reason"] == "Suspended"
    assert (operator.child(CONNECTOR, f"{name}-bronze-sink") or {})["spec"]["state"] == "paused"
    assert len(operator.airflow.runs_of(name)) == 1  # no run for the suspended generation
    operator.pipelines.patch(name, {"spec": {"suspend": False}})
    operator.wait_condition(name, "Ready", "True", "Reconciled")
    assert (operator.child(CONNECTOR, f"{name}-bronze-sink") or {})["spec"]["state"] == "running"
    assert [r.dag_run_id for r in operator.airflow.runs_of(name)][-1] == dag_run_id(
        operator.owner(name), 3
    )
    assert "Suspended" in operator.events(name)


def test_hand_edited_or_deleted_children_are_restored(operator: Operator) -> None:
    name = unique("drift")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    topic_name = f"{name}-events"
    operator.custom.patch_namespaced_custom_object(
        TOPIC.group, TOPIC.version, operator.namespace, TOPIC.plural, topic_name,
        {"spec": {"partitions": 1}},
    )  # fmt: skip
    wait_for(
        lambda: (operator.child(TOPIC, topic_name) or {}).get("spec", {}).get("partitions") == 3,
        "topic partitions restored",
    )
    connector_name = f"{name}-bronze-sink"
    old_uid = (operator.child(CONNECTOR, connector_name) or {})["metadata"]["uid"]
    operator.custom.delete_namespaced_custom_object(
        CONNECTOR.group, CONNECTOR.version, operator.namespace, CONNECTOR.plural, connector_name
    )
    restored = wait_for(
        lambda: (
            (c := operator.child(CONNECTOR, connector_name))
            and c["metadata"]["uid"] != old_uid
            and c
        ),
        "connector re-created",
    )
    assert restored["metadata"]["ownerReferences"][0]["uid"] == operator.owner(name).uid
    assert len(operator.airflow.runs_of(name)) == 1  # drift is not a spec change: no new run


def test_restart_between_trigger_and_status_write_makes_no_duplicate_run(
    operator: Operator,
) -> None:
    """The state an operator leaves when it dies right after triggering: the run exists
    in Airflow, status does not record it. The next pass re-triggers the same run id,
    Airflow answers 409, and the existing run is adopted."""
    name = unique("restart")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    operator.pipelines.patch_status(name, {"status": {"lastRun": None}})
    operator.pipelines.patch(name, {"metadata": {"labels": {"nudge": "1"}}})  # any update
    wait_for(lambda: operator.pipelines.get(name)["status"].get("lastRun"), "lastRun re-recorded")
    run_id = dag_run_id(operator.owner(name), 1)
    assert [r.dag_run_id for r in operator.airflow.runs_of(name)] == [run_id]
    assert operator.airflow.posts.count(("sales_batch", run_id)) == 2


def test_airflow_down_is_reported_and_recovers(operator: Operator) -> None:
    name = unique("down")
    operator.airflow.stop()
    try:
        operator.pipelines.create(pipeline(name))
        cond = operator.wait_condition(name, "OrchestrationReady", "False", "AirflowUnreachable")
        assert "unreachable" in cond["message"]
        assert operator.condition(name, "TopicReady")["status"] == "True"
        assert operator.condition(name)["reason"] == "AirflowUnreachable"
    finally:
        operator.airflow.start()
    operator.wait_condition(name, "Ready", "True", "Reconciled")
    assert len(operator.airflow.runs_of(name)) == 1


def test_batch_only_pipeline_is_ready_without_children(operator: Operator) -> None:
    name = unique("batch")
    operator.pipelines.create(pipeline(name, source={"batch": {"bronzeUri": "/data/bronze"}}))
    topic = operator.wait_condition(name, "TopicReady", "True", "NotConfigured")
    assert topic["message"] == "batch-only pipeline: no Kafka children"
    operator.wait_condition(name, "Ready", "True")
    assert operator.child(TOPIC, f"{name}-events") is None


def test_delete_needs_no_finalizer_and_leaves_owned_children_to_the_gc(operator: Operator) -> None:
    """This API server runs no garbage collector, so the children's removal cannot be
    observed here: what is checked is that deletion is immediate (no finalizer to wait
    on the operator or Airflow) and that every child names the pipeline as its owner,
    which is what Kubernetes' GC acts on."""
    name = unique("delete")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    body = operator.pipelines.get(name)
    assert not body["metadata"].get("finalizers")
    uid = body["metadata"]["uid"]
    operator.pipelines.delete(name)
    with pytest.raises(client.ApiException) as gone:
        operator.pipelines.get(name)
    assert gone.value.status == 404
    for kind, child in ((TOPIC, f"{name}-events"), (CONNECTOR, f"{name}-bronze-sink")):
        ref = (operator.child(kind, child) or {})["metadata"]["ownerReferences"][0]
        assert (ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (uid, True, True)
    # A child event after the owner is gone does not resurrect anything.
    operator.custom.delete_namespaced_custom_object(
        TOPIC.group, TOPIC.version, operator.namespace, TOPIC.plural, f"{name}-events"
    )
    time.sleep(1.5)
    assert operator.child(TOPIC, f"{name}-events") is None
    assert len(operator.airflow.runs_of(name)) == 1


def test_metrics_endpoint_reports_reconciles_and_ready_pipelines(operator: Operator) -> None:
    name = unique("metrics")
    operator.pipelines.create(pipeline(name))
    operator.wait_condition(name, "Ready", "True")
    with urllib.request.urlopen(operator.metrics_url, timeout=5) as resp:
        text = resp.read().decode()
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['salespipe_operator_pipelines{ready="True"}'] >= 1
    assert samples['salespipe_operator_reconciles_total{result="True",trigger="create"}'] >= 1
    assert samples["salespipe_operator_reconcile_duration_seconds_count"] >= 1
    assert "salespipe_operator_reconcile_errors_total" in text
