"""The operator as the end-to-end tests run it: kopf's KopfRunner on the deployable
entry point, in a namespace of its own, against the real API server and an Airflow
(the REST v2 stub or a real local one)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from kopf.testing import KopfRunner  # type: ignore[import-untyped,unused-ignore]
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.children import ChildKind, Owner
from salespipe.dev.kube import KubeAPIServer
from salespipe.dev.ports import free_port
from salespipe.dev.shared import repo_root
from tests.control.conftest import Pipelines, unique

T = TypeVar("T")
ENTRY_POINT = repo_root() / "operators" / "salespipe_operator.py"


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Operator:
    """The running operator's surroundings, as the tests see them."""

    namespace: str
    pipelines: Pipelines
    custom: client.CustomObjectsApi
    core: client.CoreV1Api
    airflow: Any
    """The Airflow the operator talks to (the REST stub, or a real LocalAirflow)."""
    metrics_url: str
    runner: Any

    def condition(self, name: str, kind: str = "Ready") -> dict[str, Any]:
        for cond in (self.pipelines.get(name).get("status") or {}).get("conditions") or []:
            if cond["type"] == kind:
                return dict(cond)
        return {}

    def wait_condition(
        self,
        name: str,
        kind: str,
        status: str,
        reason: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            cond = self.condition(name, kind)
            ok = cond.get("status") == status and reason in (None, cond.get("reason"))
            return cond if ok else None

        return wait_for(probe, f"{name} {kind}={status} {reason or ''}", timeout=timeout)

    def child(self, kind: ChildKind, name: str) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self.custom.get_namespaced_custom_object(
                kind.group, kind.version, self.namespace, kind.plural, name
            )
        except client.ApiException as err:
            if err.status == 404:
                return None
            raise
        return out

    def events(self, name: str) -> list[str]:
        items = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        ).items
        return [e.reason for e in sorted(items, key=lambda e: e.metadata.creation_timestamp)]

    def owner(self, name: str) -> Owner:
        return Owner.from_body(self.pipelines.get(name))


def new_namespace(core: client.CoreV1Api) -> str:
    namespace = unique("op")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    return namespace


def operator_env(
    kube_api: KubeAPIServer,
    namespace: str,
    credentials: tuple[str, str, str],
    metrics_port: int,
    poll_seconds: float = 0.5,
) -> dict[str, str]:
    """The operator's configuration: where the cluster and Airflow are, how often to poll."""
    url, username, password = credentials
    return {
        "KUBECONFIG": str(kube_api.kubeconfig),
        "SALESPIPE_AIRFLOW_URL": url,
        "SALESPIPE_AIRFLOW_USERNAME": username,
        "SALESPIPE_AIRFLOW_PASSWORD": password,
        "SALESPIPE_AWAIT_STRIMZI": "false",  # no Strimzi operator runs here
        "SALESPIPE_POLL_SECONDS": str(poll_seconds),
        "SALESPIPE_RESYNC_SECONDS": "5",
        "SALESPIPE_OPERATOR_METRICS_PORT": str(metrics_port),
        "SALESPIPE_OPERATOR_NAMESPACES": namespace,
    }


@contextmanager
def running_operator(
    kube_api: KubeAPIServer,
    kube_client: client.ApiClient,
    airflow: Any,
    credentials: tuple[str, str, str],
    poll_seconds: float = 0.5,
) -> Iterator[Operator]:
    """The operator in a fresh namespace, talking to ``airflow`` at ``credentials``
    (url, username, password); on exit it must have stopped cleanly without ever
    logging the password."""
    password = credentials[2]
    core = client.CoreV1Api(kube_client)
    namespace = new_namespace(core)
    port = free_port()
    env = operator_env(kube_api, namespace, credentials, port, poll_seconds)
    custom = client.CustomObjectsApi(kube_client)
    args = ["run", "--standalone", "--namespace", namespace, str(ENTRY_POINT)]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        with KopfRunner(args, timeout=120) as runner:
            yield Operator(
                namespace,
                Pipelines(custom, namespace),
                custom,
                core,
                airflow,
                f"http://127.0.0.1:{port}/metrics",
                runner,
            )
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
    assert password not in runner.output  # secrets never logged
