"""The resync loop's plan (``handlers.Resync``), driven by the test's clock: which
pipelines a turn passes, and how long the loop then sleeps. No API server: the plan
does no I/O, which is also why 200 pipelines with nothing due cost nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, cast

import pytest

from salespipe.control.airflow import Orchestrator
from salespipe.control.handlers import TICK_MARGIN_S, Resync
from salespipe.control.reconcile import Kube, OperatorConfig, Reconciler
from salespipe.control.schedule import parse_time

NOW = parse_time("2026-03-02T12:14:58Z")
CREATED = "2026-03-02T12:00:30Z"


def plan(poll_seconds: float = 5.0, namespaces: tuple[str, ...] = ()) -> Resync:
    config = OperatorConfig(poll_seconds=poll_seconds, resync_seconds=60, namespaces=namespaces)
    # The plan never calls Kubernetes or Airflow: nothing to stand in for them.
    return Resync(Reconciler(cast(Kube, None), cast(Orchestrator, None), config))


def body(
    n: int,
    *,
    schedule: str = "*/15 * * * *",
    last_tick: str | None = None,
    run_state: str = "success",
    suspend: bool = False,
    namespace: str = "sales",
) -> dict[str, Any]:
    """A pipeline as the loop's LIST returns it, reconciled and idle."""
    status: dict[str, Any] = {
        "lastRun": {"dagRunId": f"run-{n}", "state": run_state},
        "conditions": [{"type": "OrchestrationReady", "status": "True", "reason": "RunSucceeded"}],
    }
    if last_tick:
        status["schedule"] = {"lastTick": last_tick}
    return {
        "metadata": {
            "name": f"p{n}",
            "namespace": namespace,
            "uid": f"uid-{n}",
            "creationTimestamp": CREATED,
        },
        "spec": {"source": {"batch": {"schedule": schedule}}, "suspend": suspend},
        "status": status,
    }


def triggers(passes: list[tuple[dict[str, Any], str]]) -> dict[str, str]:
    return {b["metadata"]["name"]: trigger for b, trigger in passes}


def test_idle_pipelines_cost_no_pass_and_the_loop_sleeps_until_the_nearest_tick() -> None:
    resync = plan()
    bodies = [body(n, schedule="@hourly") for n in range(199)] + [body(199)]
    assert resync.turn(bodies, 0.0, NOW) == []
    assert resync.next_tick == parse_time("2026-03-02T12:15:00Z")
    assert resync.delay(NOW) == pytest.approx(2 + TICK_MARGIN_S)  # not the 5 s poll


def test_a_pipeline_whose_tick_has_come_gets_a_schedule_pass() -> None:
    resync = plan()
    at = NOW + timedelta(seconds=2)
    bodies = [body(0), body(1, last_tick="2026-03-02T12:15:00Z"), body(2, suspend=True)]
    assert triggers(resync.turn(bodies, 0.0, at)) == {"p0": "schedule"}
    # p1 handled 12:15 already: its 12:30 is the nearest tick to come.
    assert resync.next_tick == parse_time("2026-03-02T12:30:00Z")


def test_a_tick_waiting_for_an_unfinished_run_is_polled_without_spinning() -> None:
    resync = plan()
    at = NOW + timedelta(minutes=1)
    passes = resync.turn([body(0, run_state="running")], 0.0, at)
    assert triggers(passes) == {"p0": "schedule"}  # a light pass, as a poll would be
    assert resync.next_tick is None
    assert resync.delay(at) == 5.0


def test_the_sleep_is_never_longer_than_a_poll_nor_negative() -> None:
    resync = plan(poll_seconds=5.0)
    resync.turn([body(0, schedule="@daily")], 0.0, NOW)
    assert resync.delay(NOW) == 5.0
    resync.expect(NOW + timedelta(seconds=1), NOW)
    assert resync.delay(NOW + timedelta(seconds=3)) == 0.0


def test_a_pass_reports_the_following_tick_so_the_loop_does_not_wait_for_a_poll() -> None:
    resync = plan(poll_seconds=120.0)
    minutely = body(0, schedule="* * * * *", last_tick="2026-03-02T12:14:00Z")
    resync.turn([minutely], 0.0, NOW)
    assert resync.next_tick == parse_time("2026-03-02T12:15:00Z")
    at = parse_time("2026-03-02T12:15:00Z") + timedelta(milliseconds=100)
    assert triggers(resync.turn([minutely], 1.0, at)) == {"p0": "schedule"}
    assert resync.next_tick is None  # the listing predates the run the pass triggers
    resync.expect(parse_time("2026-03-02T12:16:00Z"), at)  # what the pass wrote
    assert resync.delay(at) == pytest.approx(59.9 + TICK_MARGIN_S)
    resync.expect(at - timedelta(seconds=1), at)  # ticks already come are ignored
    assert resync.next_tick == parse_time("2026-03-02T12:16:00Z")


def test_every_pipeline_still_gets_a_full_pass_each_resync_interval() -> None:
    resync = plan()
    bodies = [body(0), body(1, run_state="running")]
    assert triggers(resync.turn(bodies, 0.0, NOW)) == {"p1": "poll"}
    assert triggers(resync.turn(bodies, 60.0, NOW)) == {"p0": "resync", "p1": "resync"}
    assert resync.turn([], 61.0, NOW) == [] and resync.seen == {}  # deleted: forgotten


def test_pipelines_outside_the_served_namespaces_are_left_alone() -> None:
    resync = plan(namespaces=("sales",))
    bodies = [body(0, namespace="other")]
    assert resync.turn(bodies, 0.0, NOW + timedelta(hours=1)) == []
    assert resync.next_tick is None


def test_planning_200_pipelines_is_cheap() -> None:
    """The loop plans every poll_seconds; croniter's ~0.3 ms per evaluation is cached
    per (schedule, boundary), so a turn is a dict walk."""
    resync = plan()
    bodies = [body(n, schedule=f"{n % 60} * * * *") for n in range(200)]
    resync.turn(bodies, 0.0, NOW)
    t0 = time.perf_counter()
    for i in range(10):
        resync.turn(bodies, 1.0 + i, NOW + timedelta(milliseconds=i))
    assert time.perf_counter() - t0 < 1.0
    assert resync.next_tick == parse_time("2026-03-02T12:15:00Z")
