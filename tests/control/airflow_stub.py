"""A STUB of the documented Airflow 3 REST API v2 contract, for the calls the operator
makes: ``POST /auth/token`` (JWT), ``PATCH /api/v2/dags/{dag_id}`` (unpause),
``POST /api/v2/dags/{dag_id}/dagRuns`` (409 when the run id exists) and
``GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`` and
``GET .../dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{key}``.

Not Airflow: no scheduler runs the runs; tests move a run's state with ``finish``.
It exists so the operator's tests can run before the real local Airflow harness
(``salespipe.dev.airflow``) lands; tests against real Airflow replace it there.
It can be stopped and started again on the same port to play "Airflow down".
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from salespipe.dev.ports import free_port
from tests.http_stub import JsonHandler


@dataclass
class StubRun:
    dag_id: str
    dag_run_id: str
    conf: dict[str, Any]
    state: str = "queued"
    xcom: dict[str, Any] = field(default_factory=dict)
    """``return_value`` XCom by task id."""
    created_at: float = field(default_factory=time.time)
    """When the trigger request created the run (wall clock, for timing a schedule)."""


@dataclass
class AirflowStub:
    """The stub server; ``runs``, ``paused`` and ``posts`` are what tests inspect."""

    username: str = "operator"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12), repr=False)
    port: int = field(default_factory=free_port)
    dags: tuple[str, ...] = ("sales_batch", "sales_streaming", "sales_analytics")
    runs: dict[tuple[str, str], StubRun] = field(default_factory=dict)
    paused: dict[str, bool] = field(default_factory=dict)
    posts: list[tuple[str, str]] = field(default_factory=list)
    """Every trigger request (dag_id, dag_run_id), duplicates included."""
    tokens: set[str] = field(default_factory=set)
    trigger_delay_s: float = 0.0
    most_concurrent: int = 0
    """The most trigger requests the stub was serving at once."""
    _serving: int = 0
    initial_state: str = "queued"
    """The state a new run starts in ("success": runs that finish at once)."""
    """Hold a new run's answer this long after recording it: a caller killed meanwhile
    has triggered the run without learning so (the mid-reconcile restart case)."""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        self.paused = dict.fromkeys(self.dags, True)  # Airflow's default for new DAGs

    def start(self) -> AirflowStub:
        stub = self

        class Handler(JsonHandler):
            def _authorised(self) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth.removeprefix("Bearer ") in stub.tokens:
                    return True
                self.reply(401, {"detail": "Not authenticated"})
                return False

            def do_POST(self) -> None:
                body = self.json_body()
                if self.path == "/auth/token":
                    if body != {"username": stub.username, "password": stub.password}:
                        return self.reply(401, {"detail": "Invalid credentials"})
                    token = secrets.token_urlsafe(16)
                    stub.tokens.add(token)
                    return self.reply(201, {"access_token": token})
                if not self._authorised():
                    return None
                parts = self.path.strip("/").split("/")  # api v2 dags <id> dagRuns
                if len(parts) != 5 or parts[:3] != ["api", "v2", "dags"] or parts[4] != "dagRuns":
                    return self.reply(404, {"detail": "Not Found"})
                dag_id = unquote(parts[3])
                if dag_id not in stub.paused:
                    return self.reply(404, {"detail": f"DAG with dag_id: '{dag_id}' not found"})
                if "logical_date" not in body:
                    return self.reply(422, {"detail": "logical_date: Field required"})
                run_id = body["dag_run_id"]
                with stub._lock:
                    stub.posts.append((dag_id, run_id))
                    if (dag_id, run_id) in stub.runs:
                        return self.reply(409, {"detail": f"DAG Run {run_id} already exists"})
                    run = StubRun(dag_id, run_id, body.get("conf") or {}, stub.initial_state)
                    stub.runs[(dag_id, run_id)] = run
                    stub._serving += 1
                    stub.most_concurrent = max(stub.most_concurrent, stub._serving)
                time.sleep(stub.trigger_delay_s)
                with stub._lock:
                    stub._serving -= 1
                return self.reply(200, _run_json(run))

            def do_PATCH(self) -> None:
                if not self._authorised():
                    return None
                body = self.json_body()
                dag_id = unquote(self.path.strip("/").split("/")[3])
                if dag_id not in stub.paused:
                    return self.reply(404, {"detail": f"DAG with dag_id: '{dag_id}' not found"})
                stub.paused[dag_id] = bool(body["is_paused"])
                return self.reply(200, {"dag_id": dag_id, "is_paused": stub.paused[dag_id]})

            def do_GET(self) -> None:
                if not self._authorised():
                    return None
                parts = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]
                run = stub.runs.get((parts[3], parts[5])) if len(parts) >= 6 else None
                if run is None:
                    return self.reply(404, {"detail": "DAGRun not found"})
                if len(parts) == 6:
                    return self.reply(200, _run_json(run))
                task_id, key = parts[7], parts[9]
                if key != "return_value" or task_id not in run.xcom:
                    return self.reply(404, {"detail": f"XCom entry with key: `{key}` not found"})
                return self.reply(200, {"key": key, "task_id": task_id, "value": run.xcom[task_id]})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def finish(
        self, dag_run_id: str, state: str = "success", xcom: dict[str, Any] | None = None
    ) -> None:
        """Move a run to ``state``, with the XCom its tasks pushed (by task id)."""
        for run in self.runs.values():
            if run.dag_run_id == dag_run_id:
                run.xcom.update(xcom or {})
                run.state = state

    def runs_of(self, pipeline: str) -> list[StubRun]:
        return [r for r in self.runs.values() if r.conf.get("pipeline") == pipeline]


def _run_json(run: StubRun) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "dag_run_id": run.dag_run_id,
        "state": run.state,
        "conf": run.conf,
        "logical_date": None,
        "run_type": "manual",
    }
