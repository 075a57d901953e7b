"""One reconcile pass at a time (no kopf): what status says when children wait for
Strimzi, and what never reaches status or events."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.children import TOPIC
from salespipe.control.reconcile import Kube, OperatorConfig, Reconciler
from salespipe.control.schedule import utc_now
from salespipe.orchestration.airflow_api import AirflowClient
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import NS, Pipelines, pipeline, unique


def reconciler(
    kube_client: client.ApiClient,
    stub: AirflowStub,
    clock: Callable[[], datetime] = utc_now,
) -> Reconciler:
    airflow = AirflowClient(stub.url, stub.username, stub.password)
    return Reconciler(Kube(kube_client), airflow, OperatorConfig(await_strimzi=True), clock)


def strimzi_marks_ready(api: client.CustomObjectsApi, name: str) -> None:
    """What Strimzi's topic operator writes once the topic exists in Kafka (no Strimzi
    operator runs here, so the test writes its status the way Strimzi does)."""
    topic = api.get_namespaced_custom_object(TOPIC.group, TOPIC.version, NS, TOPIC.plural, name)
    status = {
        "observedGeneration": topic["metadata"]["generation"],
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        ],
    }
    api.patch_namespaced_custom_object_status(
        TOPIC.group, TOPIC.version, NS, TOPIC.plural, name, {"status": status}
    )


def conditions(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in body["status"]["conditions"]}


def test_children_wait_for_strimzis_ready(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    name = unique("strimzi")
    pipelines.create(pipeline(name))
    rec = reconciler(kube_client, airflow_stub)
    outcome = rec.reconcile(pipelines.get(name))
    assert outcome is not None and outcome.ready == "Unknown"
    got = conditions(pipelines.get(name))
    assert got["TopicReady"] == ("Unknown", "AwaitingStrimzi")
    assert got["Ready"] == ("Unknown", "AwaitingStrimzi")
    strimzi_marks_ready(pipelines.api, f"{name}-events")
    rec.reconcile(pipelines.get(name))
    assert conditions(pipelines.get(name))["TopicReady"] == ("True", "Ready")


def test_a_second_pass_changes_nothing(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    """Level-based and idempotent: an unchanged pipeline costs no writes, no events,
    no runs."""
    name = unique("idem")
    pipelines.create(pipeline(name))
    rec = reconciler(kube_client, airflow_stub)
    rec.reconcile(pipelines.get(name))
    before = pipelines.get(name)
    outcome = rec.reconcile(before)
    assert outcome is not None and outcome.events == []
    after = pipelines.get(name)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert len(airflow_stub.runs_of(name)) == 1


def test_status_and_events_hold_no_secrets(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    name = unique("secrets")
    pipelines.create(
        pipeline(name, gold={"target": "snowflake", "credentialsSecretRef": {"name": "sf-creds"}})
    )
    rec = reconciler(kube_client, airflow_stub)
    rec.reconcile(pipelines.get(name))
    status = json.dumps(pipelines.get(name)["status"])
    events = json.dumps(
        [
            e.message
            for e in client.CoreV1Api(kube_client)
            .list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
            .items
        ]
    )
    for text in (status, events):
        assert airflow_stub.password not in text
        assert "sf-creds" not in text
    assert airflow_stub.password not in repr(rec.airflow)


def test_a_polling_pass_asks_airflow_and_leaves_children_alone(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    """Light passes poll hundreds of running DAGs cheaply; children are the full
    passes' business (events, resync)."""
    name = unique("light")
    pipelines.create(pipeline(name))
    rec = reconciler(kube_client, airflow_stub)
    rec.reconcile(pipelines.get(name))
    topic = f"{name}-events"
    pipelines.api.delete_namespaced_custom_object(
        TOPIC.group, TOPIC.version, NS, TOPIC.plural, topic
    )
    airflow_stub.finish(pipelines.get(name)["status"]["lastRun"]["dagRunId"], "running")
    rec.reconcile(pipelines.get(name), children=False)
    body = pipelines.get(name)
    assert body["status"]["lastRun"]["state"] == "running"
    assert conditions(body)["TopicReady"] == ("Unknown", "AwaitingStrimzi")  # carried over
    assert not pipelines.api.list_namespaced_custom_object(
        TOPIC.group, TOPIC.version, NS, TOPIC.plural, field_selector=f"metadata.name={topic}"
    )["items"]
    rec.reconcile(pipelines.get(name))  # a full pass restores it
    pipelines.api.get_namespaced_custom_object(TOPIC.group, TOPIC.version, NS, TOPIC.plural, topic)
