"""Scheduled runs, one reconcile pass at a time against the real API server and the
Airflow stub, with the reconciler's clock set by the test: no waiting for a minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.airflow import dag_run_id, run_conf, scheduled_run_id
from salespipe.control.children import Owner
from salespipe.control.model import SalesPipelineSpec
from salespipe.control.reconcile import Reconciler
from salespipe.control.schedule import PipelineSchedule, format_time, parse_time
from salespipe.control.schema import from_api
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import NS, Pipelines, pipeline, unique
from tests.control.test_reconcile import conditions, reconciler

EVERY_15 = "*/15 * * * *"


@dataclass
class Clock:
    """The reconciler's clock, moved by the test."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Scene:
    """One pipeline, its reconciler and the clock the reconciler reads."""

    name: str
    pipelines: Pipelines
    stub: AirflowStub
    rec: Reconciler
    clock: Clock
    kube_client: client.ApiClient

    def body(self) -> dict[str, Any]:
        return self.pipelines.get(self.name)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.body()["status"]
        return status

    def owner(self) -> Owner:
        return Owner.from_body(self.body())

    def first_tick(self) -> datetime:
        """The first tick after creation (by the API server's clock)."""
        tick = PipelineSchedule.from_body(self.body()).pending()
        assert tick is not None
        return tick

    def reconcile(self, at: datetime) -> list[tuple[str, str, str]]:
        """One pass at ``at``; the events it posted."""
        self.clock.now = at
        outcome = self.rec.reconcile(self.body())
        assert outcome is not None
        return outcome.events

    def run_ids(self) -> list[str]:
        return [r.dag_run_id for r in self.stub.runs_of(self.name)]

    def event_messages(self, reason: str) -> list[str]:
        items = (
            client.CoreV1Api(self.kube_client)
            .list_namespaced_event(NS, field_selector=f"involvedObject.name={self.name}")
            .items
        )
        return [e.message for e in items if e.reason == reason]


def scene(
    pipelines: Pipelines,
    kube_client: client.ApiClient,
    stub: AirflowStub,
    schedule: str = EVERY_15,
    suspend: bool = False,
) -> Scene:
    """A batch-only pipeline on ``schedule``, created now, reconciled once at creation."""
    name = unique("sched")
    body = pipeline(name, source={"batch": {"bronzeUri": "/data/bronze", "schedule": schedule}})
    body["spec"]["suspend"] = suspend
    created = parse_time(pipelines.create(body)["metadata"]["creationTimestamp"])
    clock = Clock(created)
    s = Scene(name, pipelines, stub, reconciler(kube_client, stub, clock), clock, kube_client)
    s.reconcile(created + timedelta(seconds=1))
    return s


def test_a_due_tick_triggers_one_scheduled_run_with_the_pipelines_conf(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    s = scene(pipelines, kube_client, airflow_stub)
    first = s.first_tick()
    assert s.status()["schedule"] == {"nextTick": format_time(first)}
    airflow_stub.finish(dag_run_id(s.owner(), 1))
    assert s.reconcile(first - timedelta(seconds=1)) == [
        ("Normal", "RunSucceeded", f"DAG run {dag_run_id(s.owner(), 1)}: success")
    ]
    assert len(s.run_ids()) == 1  # not yet

    events = s.reconcile(first + timedelta(seconds=3))
    run_id = scheduled_run_id(s.owner(), first)
    assert s.run_ids() == [dag_run_id(s.owner(), 1), run_id]
    [spec_run, tick_run] = airflow_stub.runs_of(s.name)
    assert (
        tick_run.conf
        == spec_run.conf
        == run_conf(s.owner(), from_api(SalesPipelineSpec, s.body()["spec"]))
    )
    status = s.status()
    assert {k: status["lastRun"][k] for k in ("dagRunId", "trigger", "generation", "state")} == {
        "dagRunId": run_id,
        "trigger": "schedule",
        "generation": 1,
        "state": "queued",
    }
    assert status["schedule"] == {
        "lastTick": format_time(first),
        "nextTick": format_time(first + timedelta(minutes=15)),
    }
    stamp = format_time(first)
    assert events == [
        (
            "Normal",
            "RunTriggered",
            f"DAG run {run_id} of sales_batch for schedule tick {stamp} ({EVERY_15}, UTC): queued",
        )
    ]
    assert events[0][2] in s.event_messages("RunTriggered")  # posted on the pipeline


def test_a_second_pass_or_a_restarted_operator_does_not_run_a_tick_twice(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    s = scene(pipelines, kube_client, airflow_stub)
    first = s.first_tick()
    airflow_stub.finish(dag_run_id(s.owner(), 1))
    s.reconcile(first - timedelta(seconds=1))
    before_tick = s.status()
    at = first + timedelta(seconds=2)
    s.reconcile(at)
    run_id = scheduled_run_id(s.owner(), first)
    assert s.run_ids() == [dag_run_id(s.owner(), 1), run_id]
    recorded = s.body()
    assert s.reconcile(at + timedelta(minutes=1)) == []
    assert s.body()["metadata"]["resourceVersion"] == recorded["metadata"]["resourceVersion"]

    # A new operator process: nothing held in memory, the same answer.
    fresh = reconciler(kube_client, airflow_stub, s.clock)
    outcome = fresh.reconcile(s.body())
    assert outcome is not None and outcome.events == []
    assert s.run_ids() == [dag_run_id(s.owner(), 1), run_id]

    # Killed after triggering, before writing status: the tick is due again, its run id
    # is the same, Airflow answers 409 and the existing run is adopted.
    s.pipelines.patch_status(
        s.name,
        {
            "status": {
                "lastRun": before_tick["lastRun"],
                "schedule": {**before_tick["schedule"], "lastTick": None},
            }
        },
    )
    assert s.status()["schedule"] == before_tick["schedule"]
    s.reconcile(at)
    assert s.run_ids() == [dag_run_id(s.owner(), 1), run_id]
    assert airflow_stub.posts.count(("sales_batch", run_id)) == 2
    assert s.status()["lastRun"]["dagRunId"] == run_id
    assert s.status()["schedule"]["lastTick"] == format_time(first)


def test_only_the_most_recent_due_tick_runs(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    """An operator down for hours (or a run that took that long) catches up with one run."""
    s = scene(pipelines, kube_client, airflow_stub)
    first = s.first_tick()
    s.reconcile(first + timedelta(seconds=5))  # the spec run is still queued: the tick waits
    assert len(s.run_ids()) == 1
    assert s.status()["schedule"] == {"nextTick": format_time(first)}  # overdue, waiting

    airflow_stub.finish(dag_run_id(s.owner(), 1))
    later = first + timedelta(hours=3, minutes=7)
    reasons = [reason for _, reason, _ in s.reconcile(later)]
    assert reasons == ["RunSucceeded", "RunTriggered"]  # in one pass
    latest = first + timedelta(hours=3)
    assert s.run_ids() == [dag_run_id(s.owner(), 1), scheduled_run_id(s.owner(), latest)]
    assert s.status()["schedule"]["lastTick"] == format_time(latest)


def test_a_suspended_pipeline_triggers_nothing_and_resuming_runs_once(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    s = scene(pipelines, kube_client, airflow_stub, suspend=True)
    created = parse_time(s.body()["metadata"]["creationTimestamp"])
    s.reconcile(created + timedelta(hours=2))
    assert s.run_ids() == []
    status = s.status()
    assert status["schedule"] == {}  # no next tick while suspended
    assert conditions(s.body())["OrchestrationReady"] == ("False", "Suspended")

    s.pipelines.patch(s.name, {"spec": {"suspend": False}})
    resumed_at = created + timedelta(hours=2, minutes=20)
    s.reconcile(resumed_at)
    # One run, for the new generation; the tick due then (the last of the ticks missed
    # while suspended) is covered by it, none is replayed.
    assert s.run_ids() == [dag_run_id(s.owner(), 2)]
    covered = PipelineSchedule(EVERY_15, created).due(resumed_at)
    assert covered is not None
    assert s.status()["schedule"] == {
        "lastTick": format_time(covered),
        "nextTick": format_time(covered + timedelta(minutes=15)),
    }
    assert any("covering schedule tick" in m for m in s.event_messages("RunTriggered"))


def test_a_schedule_that_never_fires_is_reported_not_polled(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    s = scene(pipelines, kube_client, airflow_stub, schedule="0 0 30 2 *")
    body = s.body()
    assert conditions(body)["OrchestrationReady"] == ("False", "InvalidSchedule")
    assert conditions(body)["Ready"] == ("False", "InvalidSchedule")
    assert "never fires" in s.event_messages("InvalidSchedule")[0]
    assert body["status"]["schedule"] == {}
    assert s.run_ids() == [dag_run_id(s.owner(), 1)]  # spec changes still run
    airflow_stub.finish(dag_run_id(s.owner(), 1))
    s.reconcile(s.clock.now)
    assert not s.rec.needs_poll(s.body())  # polling cannot fix a spec: only an update can


def test_suspending_drops_the_next_tick(
    pipelines: Pipelines, kube_client: client.ApiClient, airflow_stub: AirflowStub
) -> None:
    """Status is a merge patch: a field that goes away must be sent as null."""
    s = scene(pipelines, kube_client, airflow_stub)
    assert "nextTick" in s.status()["schedule"]
    s.pipelines.patch(s.name, {"spec": {"suspend": True}})
    s.reconcile(s.clock.now)
    assert s.status()["schedule"] == {}
