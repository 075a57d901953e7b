"""What the reconciler needs from Airflow, and the run identity and conf it sends.

``Orchestrator`` is the whole surface: unpause DAGs, trigger a run, read a run's
state. Triggering is idempotent by construction: the run id is derived from the
pipeline's uid and spec generation, so an operator that restarts between
triggering and recording the run triggers the same id again, Airflow answers 409,
and that counts as "already triggered" (no duplicate runs).

``AirflowREST`` speaks the documented Airflow 3 REST API v2 with a JWT from
``POST /auth/token``. It is deliberately small; when
``salespipe.orchestration.airflow_api`` (the full client) lands, it can satisfy
``Orchestrator`` directly and this class can go.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from salespipe.control.children import Owner
from salespipe.control.model import SalesPipelineSpec

TERMINAL_STATES = frozenset({"success", "failed"})
ENGINE_MODES = {"embedded": "local", "spark": "kubernetes"}
"""The CRD's engine names -> the run conf's execution modes."""


class AirflowUnavailable(Exception):
    """Airflow could not be reached or failed on its side (network error, timeout, 5xx):
    worth retrying later."""


class AirflowRejected(Exception):
    """Airflow refused a request (unknown DAG, bad conf, forbidden): retrying the same
    request will not help; the message says why."""


class Orchestrator(Protocol):
    """The calls the reconciler makes on Airflow."""

    def ensure_unpaused(self, dag_ids: Sequence[str]) -> None:
        """Unpause the DAGs (a no-op for DAGs already unpaused)."""

    def trigger(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any]) -> str:
        """Create the run unless it exists; return its state either way."""

    def run_state(self, dag_id: str, dag_run_id: str) -> str:
        """The run's state: queued, running, success or failed."""


def dag_run_id(owner: Owner, generation: int) -> str:
    """One run per (pipeline object, spec generation); a re-created pipeline of the
    same name has a new uid, so it never collides with its predecessor's runs."""
    return f"salespipe__{owner.name}__{owner.uid}__g{generation}"


def run_conf(owner: Owner, spec: SalesPipelineSpec) -> dict[str, Any]:
    """The conf of a triggered run: the keys of the DAGs' run conf
    (``salespipe.orchestration.conf.RunConf``), which rejects unknown keys."""
    return {
        "pipeline": owner.name,
        "bronze_uri": spec.source.batch.bronze_uri,
        "silver_uri": spec.silver.uri,
        "gold_target": spec.gold.target,
        "topic": spec.source.streaming.topic if spec.source.streaming else "sales_events",
        "mode": ENGINE_MODES[spec.engine.mode],
    }


@dataclass
class AirflowREST:
    """A minimal Airflow 3 REST API v2 client (JWT bearer auth)."""

    base_url: str
    username: str
    password: str = field(repr=False)
    timeout: float = 10.0
    _token: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ensure_unpaused(self, dag_ids: Sequence[str]) -> None:
        for dag_id in dag_ids:
            self._call("PATCH", f"/api/v2/dags/{_q(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any]) -> str:
        body = {"dag_run_id": dag_run_id, "logical_date": None, "conf": dict(conf)}
        try:
            run = self._call("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body)
        except _Conflict:
            return self.run_state(dag_id, dag_run_id)
        return str(run["state"])

    def run_state(self, dag_id: str, dag_run_id: str) -> str:
        run = self._call("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}")
        return str(run["state"])

    def _login(self) -> str:
        answer = self._send(
            "POST", "/auth/token", {"username": self.username, "password": self.password}, None
        )
        return str(answer["access_token"])

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        with self._lock:
            if self._token is None:
                self._token = self._login()
            token = self._token
        try:
            return self._send(method, path, body, token)
        except _Unauthorized:
            with self._lock:  # the JWT expired: log in again, once
                self._token = self._login()
                token = self._token
            return self._send(method, path, body, token)

    def _send(self, method: str, path: str, body: Any, token: str | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url.rstrip("/") + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            detail = _detail(err)
            if err.code == 401 and token:
                raise _Unauthorized from err
            if err.code == 409:
                raise _Conflict from err
            if err.code >= 500:
                raise AirflowUnavailable(f"{method} {path}: HTTP {err.code} {detail}") from err
            raise AirflowRejected(f"{method} {path}: HTTP {err.code} {detail}") from err
        except (OSError, ValueError) as err:  # refused, reset, timeout, bad JSON
            raise AirflowUnavailable(f"{method} {path}: {err}") from err


class _Conflict(Exception):
    pass


class _Unauthorized(Exception):
    pass


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _detail(err: urllib.error.HTTPError) -> str:
    """Airflow's error detail, short: it names the problem, never our credentials."""
    try:
        detail = json.loads(err.read()).get("detail", "")
    except (OSError, ValueError, AttributeError):
        detail = ""
    return str(detail)[:200]
