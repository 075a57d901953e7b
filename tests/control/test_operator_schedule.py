"""The running operator triggers a scheduled run at its tick, woken by the tick and
not by its next poll: ``* * * * *`` on the real clock, so this takes up to a minute
and a quarter. The tick math and the loop's plan are tested with a set clock in
test_schedule.py, test_reconcile_schedule.py and test_resync.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.airflow import scheduled_run_id
from salespipe.control.schedule import format_time, next_tick, parse_time, utc_now
from salespipe.dev.kube import KubeAPIServer
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import pipeline, unique
from tests.control.running import running_operator, wait_for

pytestmark = pytest.mark.slow

POLL_SECONDS = 10.0
"""Far longer than the lateness allowed: only the wake-up at the tick can meet it."""
LATENESS_S = 3.0


def test_a_tick_is_triggered_within_seconds_though_the_loop_polls_rarely(
    kube_api: KubeAPIServer, kube_client: client.ApiClient, salespipeline_crd: dict[str, Any]
) -> None:
    stub = AirflowStub(initial_state="success").start()  # no run in flight holds a tick back
    try:
        credentials = (stub.url, stub.username, stub.password)
        with running_operator(kube_api, kube_client, stub, credentials, POLL_SECONDS) as op:
            name = unique("cron")
            body = pipeline(name, source={"batch": {"bronzeUri": "/data/bronze"}})
            body["spec"]["source"]["batch"]["schedule"] = "* * * * *"
            created = op.pipelines.create(body)["metadata"]
            # A loop turn (at most POLL_SECONDS apart) has listed the pipeline before
            # this tick, so the loop knows to wake for it.
            listed_by = parse_time(created["creationTimestamp"]) + timedelta(
                seconds=POLL_SECONDS + 3
            )
            tick = next_tick("* * * * *", listed_by)
            assert tick is not None
            run_id = scheduled_run_id(op.owner(name), tick)
            wait = (tick - utc_now()).total_seconds() + 15
            run = wait_for(lambda: stub.runs.get(("sales_batch", run_id)), run_id, wait)
            lateness = run.created_at - tick.timestamp()
            assert 0 <= lateness < LATENESS_S, f"triggered {lateness:.1f} s after the tick"
            assert run.conf["pipeline"] == name
            status = wait_for(
                lambda: (
                    (s := op.pipelines.get(name)["status"])["lastRun"]["dagRunId"] == run_id and s
                ),
                "the scheduled run in status",
            )
            assert status["lastRun"]["trigger"] == "schedule"
            assert status["schedule"]["lastTick"] == format_time(tick)
            ids = [r.dag_run_id for r in stub.runs_of(name)]
            assert len(ids) == len(set(ids)) and stub.posts.count(("sales_batch", run_id)) == 1
            wait_for(  # posted right after the status write
                lambda: any(format_time(tick) in m for m in messages(op.core, op.namespace, name)),
                "a RunTriggered event naming the tick",
            )
    finally:
        stub.stop()


def messages(core: client.CoreV1Api, namespace: str, name: str) -> list[str]:
    items = core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    return [e.message for e in items if e.reason == "RunTriggered"]
