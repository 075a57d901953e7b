"""An HTTP stub of Kafka Connect's documented REST contract, and a webhook catcher.

There is no Kafka Connect on our machines. The stub answers the three calls the
monitor makes, with the documented shapes and status codes:
``GET /connectors`` (names), ``GET /connectors/{name}/status`` (connector and task
states, ``trace`` on failures, 404 for an unknown name) and
``POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true`` (202 with the
status, the failed parts then RUNNING, unless the connector is marked ``stuck``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.http_stub import JsonHandler


@dataclass
class StubConnector:
    state: str = "RUNNING"
    tasks: list[str] = field(default_factory=lambda: ["RUNNING"])
    stuck: bool = False
    """A restart leaves it FAILED (a connector that keeps crashing)."""

    def status(self, name: str) -> dict[str, Any]:
        def part(state: str) -> dict[str, Any]:
            body: dict[str, Any] = {"state": state, "worker_id": "127.0.0.1:8083"}
            if state == "FAILED":
                body["trace"] = "org.apache.kafka.connect.errors.ConnectException: boom\n\tat x"
            return body

        return {
            "name": name,
            "connector": part(self.state),
            "tasks": [{"id": i, **part(s)} for i, s in enumerate(self.tasks)],
            "type": "sink",
        }


class _Server(ThreadingHTTPServer):
    stub: KafkaConnectStub


class _Handler(JsonHandler):
    server: _Server

    def do_GET(self) -> None:
        stub = self.server.stub
        parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
        stub.requests.append(("GET", self.path))
        if parts == ["connectors"]:
            self.reply(200, sorted(stub.connectors))
        elif len(parts) == 3 and parts[0] == "connectors" and parts[2] == "status":
            connector = stub.connectors.get(parts[1])
            if connector is None:
                self.reply(404, {"error_code": 404, "message": f"No status for {parts[1]}"})
            else:
                self.reply(200, connector.status(parts[1]))
        else:
            self.reply(404, {"error_code": 404, "message": "not found"})

    def do_POST(self) -> None:
        stub = self.server.stub
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stub.requests.append(("POST", self.path))
        if parts == ["webhook"]:
            stub.alerts.append(json.loads(body))
            self.reply(200, {"ok": True})
            return
        if len(parts) != 3 or parts[0] != "connectors" or parts[2] != "restart":
            self.reply(404, {"error_code": 404, "message": "not found"})
            return
        connector = stub.connectors.get(parts[1])
        if connector is None:
            self.reply(404, {"error_code": 404, "message": f"Unknown connector {parts[1]}"})
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        include_tasks = query.get("includeTasks") == "true"
        only_failed = query.get("onlyFailed") == "true"
        if not connector.stuck:
            if not only_failed or connector.state == "FAILED":
                connector.state = "RUNNING"
            if include_tasks:
                connector.tasks = [
                    "RUNNING" if (s == "FAILED" or not only_failed) else s for s in connector.tasks
                ]
        self.reply(202, connector.status(parts[1]))


class KafkaConnectStub:
    """The stub on a free 127.0.0.1 port; also catches alert webhooks at ``/webhook``."""

    def __init__(self) -> None:
        self.connectors: dict[str, StubConnector] = {}
        self.requests: list[tuple[str, str]] = []
        self.alerts: list[dict[str, Any]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> KafkaConnectStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
