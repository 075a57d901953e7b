"""An operator process SIGKILLed in the middle of a reconcile, after Airflow recorded
the run but before the operator learned so or wrote status: the next operator
triggers the same run id again, Airflow answers 409, and there is one run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.airflow import dag_run_id
from salespipe.control.children import Owner
from salespipe.dev.kube import KubeAPIServer
from salespipe.dev.ports import free_port
from tests.control.airflow_stub import AirflowStub
from tests.control.conftest import Pipelines, pipeline, unique
from tests.control.running import new_namespace, operator_env, wait_for

pytestmark = pytest.mark.slow


def start_operator(env: dict[str, str], namespace: str, log: Path) -> subprocess.Popen[bytes]:
    """The deployable operator process (what ``salespipe operator run`` execs)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "salespipe.control.run", "--namespace", namespace],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_a_killed_operator_restarts_without_a_duplicate_run(
    kube_api: KubeAPIServer,
    kube_client: client.ApiClient,
    salespipeline_crd: dict[str, Any],
    airflow_stub: AirflowStub,
    tmp_path: Path,
) -> None:
    namespace = new_namespace(client.CoreV1Api(kube_client))
    pipelines = Pipelines(client.CustomObjectsApi(kube_client), namespace)
    credentials = (airflow_stub.url, airflow_stub.username, airflow_stub.password)
    env = operator_env(kube_api, namespace, credentials, free_port())
    log = tmp_path / "operator.log"
    name = unique("restart")

    airflow_stub.trigger_delay_s = 60  # the operator waits inside the trigger call
    first = start_operator(env, namespace, log)
    try:
        pipelines.create(pipeline(name))
        wait_for(lambda: airflow_stub.runs_of(name), "Airflow to record the run", 60)
    finally:
        kill(first)
    assert not (pipelines.get(name).get("status") or {}).get("lastRun")

    airflow_stub.trigger_delay_s = 0
    second = start_operator(env, namespace, log)
    try:
        wait_for(
            lambda: (pipelines.get(name).get("status") or {}).get("lastRun"),
            "the restarted operator to record the run",
            60,
        )
    finally:
        kill(second)
    run_id = dag_run_id(Owner.from_body(pipelines.get(name)), 1)
    assert [r.dag_run_id for r in airflow_stub.runs_of(name)] == [run_id]
    assert airflow_stub.posts.count(("sales_batch", run_id)) == 2  # the second one got 409
    assert airflow_stub.password not in log.read_text()
