"""A client of Airflow 3's REST API v2: what the operator and the tests ask Airflow.

Auth is a JWT from ``POST /auth/token`` (username/password), renewed on a 401.
Triggering is idempotent by run id: a run id Airflow already has (HTTP 409) returns
the existing run, so a restarted caller never starts a duplicate. Errors name the
call and Airflow's answer, never the credentials or the token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

TERMINAL = frozenset({"success", "failed"})


class AirflowUnavailable(RuntimeError):
    """Airflow did not answer (connection refused, timeout, 5xx)."""


class AirflowAPIError(RuntimeError):
    """Airflow answered with an error the caller must act on (4xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DagRun:
    """One DAG run as the API reports it."""

    dag_id: str
    dag_run_id: str
    state: str
    conf: dict[str, Any]
    run_type: str = ""
    start_date: str | None = None
    end_date: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> DagRun:
        return cls(
            dag_id=str(body["dag_id"]),
            dag_run_id=str(body["dag_run_id"]),
            state=str(body.get("state") or "queued"),
            conf=dict(body.get("conf") or {}),
            run_type=str(body.get("run_type") or ""),
            start_date=body.get("start_date"),
            end_date=body.get("end_date"),
        )

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


class AirflowClient:
    """REST API v2 of one Airflow, shared by the operator's reconcile threads (httpx
    clients are thread-safe; at most ``max_in_flight`` requests are out at once)."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        timeout_s: float = 30.0,
        max_in_flight: int = 4,
    ) -> None:
        self.url = url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)
        self._token: str | None = None
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        """Requests sent at once, whatever the callers' threads: an API server given
        more than its workers can serve slows down for all of them, and calls that time
        out on the client are retried while the server still works them off."""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._in_flight:
                response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise AirflowUnavailable(
                f"Airflow at {self.url} unreachable: {type(error).__name__}"
            ) from None
        if response.status_code >= 500:
            raise AirflowUnavailable(f"{method} {path}: Airflow answered {response.status_code}")
        return response

    def _login(self) -> str:
        response = self._send("POST", "/auth/token", json=self._credentials)
        if response.status_code not in (200, 201):
            raise AirflowAPIError(
                f"Airflow login refused (HTTP {response.status_code})", response.status_code
            )
        token = str(response.json()["access_token"])
        self._token = token
        return token

    def call(self, method: str, path: str, ok: Iterable[int] = (200,), **kwargs: Any) -> Any:
        """One API call with a bearer token (renewed once on 401); the JSON body."""
        for attempt in (1, 2):
            token = self._token or self._login()
            response = self._send(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            break
        if response.status_code not in set(ok):
            raise AirflowAPIError(
                f"{method} {path}: HTTP {response.status_code} {_detail(response)}",
                response.status_code,
            )
        return response.json() if response.content else None

    def dag(self, dag_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.call("GET", f"/api/v2/dags/{_q(dag_id)}")
        return body

    def ensure_unpaused(self, dag_ids: Iterable[str]) -> None:
        """Unpause each DAG (new DAGs start paused); a DAG not parsed yet is a 404."""
        for dag_id in dag_ids:
            self.call("PATCH", f"/api/v2/dags/{_q(dag_id)}", json={"is_paused": False})

    def unpause_when_parsed(self, dag_ids: Iterable[str], timeout_s: float = 120.0) -> None:
        """Unpause the DAGs, waiting for a freshly started Airflow to parse them first
        (until then they are a 404)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.ensure_unpaused(dag_ids)
                return
            except AirflowAPIError as error:
                if error.status != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def trigger(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any]) -> DagRun:
        """Start a run with ``conf``, or return the run that already has this id."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns"
        body = {"dag_run_id": dag_run_id, "logical_date": None, "conf": dict(conf)}
        try:
            return DagRun.from_api(self.call("POST", path, json=body))
        except AirflowAPIError as error:
            if error.status != 409:
                raise
        return self.run(dag_id, dag_run_id)

    def run(self, dag_id: str, dag_run_id: str) -> DagRun:
        return DagRun.from_api(
            self.call("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}")
        )

    def runs(self, dag_id: str, limit: int = 100) -> list[DagRun]:
        """Newest first."""
        body = self.call(
            "GET",
            f"/api/v2/dags/{_q(dag_id)}/dagRuns",
            params={"limit": limit, "order_by": "-run_after"},
        )
        return [DagRun.from_api(r) for r in body["dag_runs"]]

    def xcom(self, dag_id: str, dag_run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (deserialized), or None when it pushed none (skipped,
        failed or not run)."""
        path = (
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}"
            f"/taskInstances/{_q(task_id)}/xcomEntries/{_q(key)}"
        )
        try:
            body = self.call("GET", path, params={"deserialize": "true"})
        except AirflowAPIError as error:
            if error.status == 404:
                return None
            raise
        return body.get("value")

    def wait(self, dag_id: str, dag_run_id: str, timeout_s: float = 300.0) -> DagRun:
        """Poll until the run finishes; raises TimeoutError naming its last state."""
        deadline = time.monotonic() + timeout_s
        state = "unknown"
        while True:
            try:
                run = self.run(dag_id, dag_run_id)
            except AirflowUnavailable:  # a busy API server: keep polling until the deadline
                run = None
            if run is not None and run.finished:
                return run
            state = run.state if run else state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{dag_id} run {dag_run_id} still {state}")
            time.sleep(0.5)


def _q(part: str) -> str:
    return quote(part, safe="")


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:500]
    except ValueError:
        return response.text[:500]
